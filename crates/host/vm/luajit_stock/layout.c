/*
** The layout check run before the first swap: objects made through the
** public API are read through the headers this folder was compiled with and
** compared with what the VM itself reports (the C API, `debug`, `jit.util`,
** `collectgarbage`), then one swap and its undo are tried on two throwaway
** closures. Any difference means the running LuaJIT was built otherwise
** (another release, GC64 or not, other options): the caller falls back to
** the pure-Lua walk. `HOTRELOAD_LUAJIT_STOCK=off` fails it on purpose
** (tests, or a user who distrusts it).
*/
#include <stdio.h>

#include "stock.h"

static const char *problem = NULL;
static int checked = 0;
static char reason[256];

#define CHECK(cond, what)                                  \
  do {                                                     \
    if (!(cond)) {                                         \
      snprintf(reason, sizeof(reason), "it does not match the layout it was built for: %s", what); \
      return reason;                                       \
    }                                                      \
  } while (0)

static const char TEST_CHUNK[] =
    "local a, b = 1, 'two'\n"
    "local function f(x, y, ...) a = x; return b, y end\n"
    "local function g() return a end\n"
    "return f, g, function() return 1 end, function() return 2 end\n";

/* jit.util.<name>(args on the stack) -> first result left on the stack. */
static int jit_util(lua_State *L, const char *name, int nargs) {
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  lua_getfield(L, -1, "jit.util");
  lua_remove(L, -2);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1 + nargs);
    lua_pushnil(L);
    return 0;
  }
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_insert(L, -1 - nargs);
  return lua_pcall(L, nargs, 1, 0) == 0;
}

static lua_Integer funcinfo_int(lua_State *L, int fidx, const char *field) {
  lua_Integer v = -1;
  lua_pushvalue(L, fidx);
  if (jit_util(L, "funcinfo", 1) && lua_istable(L, -1)) {
    lua_getfield(L, -1, field);
    if (lua_isnumber(L, -1)) v = lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return v;
}

static const char *uvinfo_name(const GCproto *pt, int k) {
  const uint8_t *p = proto_uvinfo(pt);
  if (p == NULL) return NULL;
  while (k-- > 0) {
    while (*p++ != 0) {
    }
  }
  return (const char *)p;
}

/* Runs at the top of the stack; every check returns on failure. */
static const char *check(lua_State *L) {
  global_State *g = G(L);
  int base = lua_gettop(L), f, gg, one, two;
  GCfuncL *fl, *gl, *onel, *twol;
  GCproto *pt, *chunkpt;
  GCupval *ua, *ub;
  int i, found = 0;
  lua_Integer n;
  const char *env = getenv("HOTRELOAD_LUAJIT_STOCK");
  if (env != NULL && strcmp(env, "off") == 0) {
    snprintf(reason, sizeof(reason), "switched off by HOTRELOAD_LUAJIT_STOCK=off");
    return reason;
  }
  lua_getglobal(L, "jit");
  CHECK(lua_istable(L, -1), "no `jit` library (not LuaJIT)");
  lua_getfield(L, -1, "version");
  CHECK(lua_isstring(L, -1) && strncmp(lua_tostring(L, -1), "LuaJIT 2.1", 10) == 0,
        "not LuaJIT 2.1");
  lua_settop(L, base);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "jit.util");
  CHECK(lua_pcall(L, 1, 0, 0) == 0, "no jit.util");
  /* The thread and the collector. */
  CHECK(tvref(L->stack) <= L->base && L->base <= L->top && L->top <= tvref(L->maxstack),
        "lua_State stack fields differ");
  CHECK(L->top - L->base == lua_gettop(L), "lua_State top differs");
  CHECK(L->gct == ~LJ_TTHREAD && (GCobj *)lua_topointer(L, LUA_REGISTRYINDEX) != NULL,
        "lua_State header differs");
  CHECK(g->gc.total == (GCSize)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (GCSize)lua_gc(L, LUA_GCCOUNTB, 0),
        "global_State gc.total differs");
  {
    int pause = lua_gc(L, LUA_GCSETPAUSE, 171);
    int ok = g->gc.pause == 171;
    int stepmul = lua_gc(L, LUA_GCSETSTEPMUL, 373);
    ok = ok && g->gc.stepmul == 373;
    lua_gc(L, LUA_GCSETPAUSE, pause);
    lua_gc(L, LUA_GCSETSTEPMUL, stepmul);
    CHECK(ok, "global_State gc.pause/stepmul differ");
  }
  CHECK(g->gc.state <= GCSfinalize, "global_State gc.state differs");
  lua_newtable(L);
  {
    GCobj *t = (GCobj *)lua_topointer(L, -1);
    CHECK(t->gch.gct == ~LJ_TTAB, "object header differs (GC64 or not?)");
    CHECK((t->gch.marked & LJ_GC_WHITES) == curwhite(g), "gc.currentwhite differs");
  }
  lua_pop(L, 1);
  /* Closures, prototypes and upvalue cells. */
  CHECK(luaL_loadbuffer(L, TEST_CHUNK, sizeof(TEST_CHUNK) - 1, "=[hotreload] layout") == 0,
        "cannot load the test chunk");
  chunkpt = funcproto((GCfunc *)lua_topointer(L, -1));
  lua_pushvalue(L, -1);
  CHECK(lua_pcall(L, 0, 4, 0) == 0, "cannot run the test chunk");
  f = base + 2, gg = base + 3, one = base + 4, two = base + 5;
  fl = hr_stock_lclosure(L, f);
  gl = hr_stock_lclosure(L, gg);
  onel = hr_stock_lclosure(L, one);
  twol = hr_stock_lclosure(L, two);
  CHECK(fl && gl && onel && twol, "GCfunc header differs (ffid)");
  CHECK(fl->gct == ~LJ_TFUNC && fl->nupvalues == 2 && gl->nupvalues == 1 && onel->nupvalues == 0,
        "GCfunc header differs (nupvalues)");
  pt = funcproto((GCfunc *)fl);
  CHECK(pt->gct == ~LJ_TPROTO, "GCfuncL pc or GCproto header differs");
  CHECK(pt->numparams == 2 && (pt->flags & PROTO_VARARG) && pt->sizeuv == 2,
        "GCproto numparams/flags/sizeuv differ");
  CHECK((lua_Integer)pt->firstline == funcinfo_int(L, f, "linedefined") &&
            (lua_Integer)(pt->firstline + pt->numline) == funcinfo_int(L, f, "lastlinedefined"),
        "GCproto firstline/numline differ");
  n = funcinfo_int(L, f, "bytecodes");
  CHECK(n == (lua_Integer)pt->sizebc, "GCproto sizebc differs");
  for (i = 0; i < (int)pt->sizebc; i++) {
    lua_Integer ins;
    lua_pushvalue(L, f);
    lua_pushinteger(L, i);
    CHECK(jit_util(L, "funcbc", 2), "jit.util.funcbc failed");
    ins = lua_tointeger(L, -1);
    lua_pop(L, 1);
    CHECK((uint32_t)ins == (uint32_t)proto_bc(pt)[i], "GCproto bytecode differs");
  }
  CHECK(strcmp(proto_chunknamestr(pt), "=[hotreload] layout") == 0, "GCproto chunkname differs");
  for (i = 0; i < 2; i++) {
    const char *mine = uvinfo_name(pt, i), *theirs;
    lua_pushvalue(L, f);
    lua_pushinteger(L, i);
    CHECK(jit_util(L, "funcuvname", 2), "jit.util.funcuvname failed");
    theirs = lua_tostring(L, -1);
    CHECK(mine && theirs && strcmp(mine, theirs) == 0, "GCproto uvinfo differs");
    lua_pop(L, 1);
  }
  for (i = 1; i <= (int)chunkpt->sizekgc; i++) {
    GCobj *o = proto_kgc(chunkpt, -i);
    if (o->gch.gct == ~LJ_TPROTO && (&o->pt == pt || &o->pt == funcproto((GCfunc *)gl))) found++;
  }
  CHECK(found == 2, "GCproto kgc (child prototypes) differs");
  ua = &gcref(fl->uvptr[0])->uv;
  ub = &gcref(fl->uvptr[1])->uv;
  CHECK((void *)ua == lua_upvalueid(L, f, 1) && (void *)ub == lua_upvalueid(L, f, 2) &&
            gcref(gl->uvptr[0]) == gcref(fl->uvptr[0]),
        "GCfuncL uvptr differs");
  CHECK(ua->gct == ~LJ_TUPVAL && ua->closed && ub->closed, "GCupval header differs");
  CHECK(tvisnumber(uvval(ua)) && numberVnum(uvval(ua)) == 1 && tvisstr(uvval(ub)),
        "GCupval value differs");
  CHECK(ua->immutable == 0 && ub->immutable == 1 &&
            !(proto_uv(pt)[0] & PROTO_UV_IMMUTABLE) && (proto_uv(pt)[1] & PROTO_UV_IMMUTABLE),
        "GCupval immutable or GCproto uv flags differ");
  lua_getfenv(L, f);
  CHECK((const void *)tabref(fl->env) == lua_topointer(L, -1), "GCfuncL env differs");
  lua_pop(L, 1);
  /* The count of closures made of a prototype (nested.c relies on it). */
  {
    static const char factory[] = "local function mk() return function() end end\nreturn mk(), mk()\n";
    GCproto *made;
    CHECK(luaL_loadbuffer(L, factory, sizeof(factory) - 1, "=[hotreload] layout") == 0 &&
              lua_pcall(L, 0, 2, 0) == 0 && hr_stock_lclosure(L, -1) != NULL,
          "cannot run the factory test chunk");
    made = funcproto((GCfunc *)hr_stock_lclosure(L, -1));
    CHECK(((made->flags >> 5) & 7) == 2 && funcproto((GCfunc *)hr_stock_lclosure(L, -2)) == made,
          "GCproto closure count differs");
    lua_pop(L, 2);
  }
  /* One swap and its undo, on the two throwaway closures. */
  lua_pushcfunction(L, hr_stock_swap_open);
  lua_call(L, 0, 1); /* { swap, restore } */
  lua_getfield(L, -1, "swap");
  lua_createtable(L, 1, 0);
  lua_createtable(L, 4, 0);
  lua_pushvalue(L, one);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, two);
  lua_rawseti(L, -2, 2);
  lua_newtable(L);
  lua_rawseti(L, -2, 3);
  lua_rawseti(L, -2, 1);
  CHECK(lua_pcall(L, 1, 1, 0) == 0, "the trial swap failed");
  lua_rawgeti(L, -1, 1); /* the clone */
  CHECK(lua_isfunction(L, -1), "the trial swap did not swap");
  lua_pushvalue(L, one);
  lua_call(L, 0, 1);
  CHECK(lua_tointeger(L, -1) == 2, "the trial swap did not give the new code");
  lua_pop(L, 1);
  lua_getfield(L, -3, "restore");
  lua_pushvalue(L, one);
  lua_pushvalue(L, -3);
  CHECK(lua_pcall(L, 2, 0, 0) == 0, "the trial restore failed");
  lua_pushvalue(L, one);
  lua_call(L, 0, 1);
  CHECK(lua_tointeger(L, -1) == 1, "the trial restore did not give the old code back");
  return NULL;
}

const char *hr_stock_layout_problem(lua_State *L) {
  if (!checked) {
    int top = lua_gettop(L);
    lua_checkstack(L, 32);
    problem = check(L);
    lua_settop(L, top);
    checked = 1;
  }
  return problem;
}
