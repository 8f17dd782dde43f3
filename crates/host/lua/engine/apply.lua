-- New code for every changed function of the reload: the old closure gets
-- the new prototype in place when the backend can, else references to it
-- are replaced in one pass, which also gives closures of changed nested
-- functions (factory products) their new code.
local debug, parts = ...
local common, stacks = parts.common, parts.stacks

local next = next
local getupvalue, upvalueid, getinfo = debug.getupvalue, debug.upvalueid, debug.getinfo
local T, INTERNAL = common.T, common.INTERNAL

local Apply = {}

--- Applies the pairs of `ctx` whose code differs; `new_chunk`/`old_chunk`
--- are the two versions' main chunks (their nested functions are paired
--- structurally), `boundary` the backend's mark of the engine's frames.
--- Pairs whose code only moved (`p.moved`) get the new code too, so that
--- their line numbers match the new text (breakpoints); they are not
--- reported as changed.
function Apply.functions(ctx, new_chunk, old_chunk, boundary)
  local backend = ctx.engine.backend
  local active = stacks.active(ctx.engine)
  local entries = T()
  local todo = T()
  for _, p in next, ctx.pairs do
    if p.differs or p.moved then
      local src = T()
      for i = 1, 255 do
        local name = getupvalue(p.new, i)
        if name == nil then
          break
        end
        local m = ctx.cellmap[upvalueid(p.new, i)]
        local k = 2 * i
        if m then
          src[k - 1], src[k] = m[1], m[2]
        else
          src[k - 1], src[k] = p.new, i
        end
      end
      local e = T()
      e[1], e[2], e[3], e[4] = p.old, p.new, src, active[p.old] and true or false
      entries[#entries + 1] = e
      todo[#todo + 1] = p
      if active[p.old] and p.differs then
        local info = getinfo(p.old, 'S')
        local file = info.source:sub(1, 1) == '@' and info.source:sub(2) or nil
        ctx.report:warn(
          'runningFunction',
          (p.path or 'function')
            .. ' ('
            .. info.short_src
            .. ':'
            .. info.linedefined
            .. ') is running; it keeps its old code until it returns',
          file,
          info.linedefined
        )
      end
    end
  end
  local results = backend.swap(entries)
  local refmap, rootpairs, skip = T(), T(), T()
  for i, p in next, todo do
    local clone = results[i]
    local rp = T()
    if clone then
      p.inplace, p.clone = true, clone
      ctx.journal:swap(p.old, clone)
      skip[clone] = true
      rp[1], rp[2] = clone, p.new
    else
      refmap[p.old] = p.new
      rp[1], rp[2] = p.old, p.new
    end
    rootpairs[#rootpairs + 1] = rp
  end
  if old_chunk and new_chunk then
    local rp = T()
    rp[1], rp[2] = old_chunk, new_chunk
    rootpairs[#rootpairs + 1] = rp
    skip[old_chunk] = true
  end
  -- Functions matched by path (or removed) are handled: the structural
  -- pairing of the old and new chunk must not give their code to others.
  local handled = T()
  for o in next, ctx.by_old do
    handled[o] = true
  end
  for _, o in next, ctx.removed_fns do
    handled[o] = true
  end
  local stats = backend.walk(refmap, rootpairs, skip, active, boundary, INTERNAL, handled, true)
  ctx.journal:walk(refmap, rootpairs, skip, boundary, stats)
  -- A running closure keeps its old code, but a restartFrame of its frame
  -- runs the closure that replaced it (vm/*/restart.c). Noted after the
  -- walk, which would have rekeyed the map to the new closures.
  local restarts = common.restart_map()
  for i, p in next, todo do
    if not results[i] and entries[i][4] and p.old ~= p.new then
      restarts[p.old] = p.new
    end
  end
  ctx.report:walk_warnings(stats, ctx.rec.path)
  return stats
end

return Apply
