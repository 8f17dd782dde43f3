"""Sessions started the way nvim-dap starts them: inside a coroutine.

nvim-dap runs configuration functions and adapter factories inside a
coroutine that is collected once the session is set up. The native module,
first required there, must never keep or use that coroutine's lua_State: it
crashed Neovim (SIGSEGV in the libuv callback) after the session ended.

The `dap` module here is tests/nvim/fixtures/dap_standin.lua, a stand-in
that mirrors nvim-dap on each point the glue depends on (see the comments
there): `M.run` evaluates the configuration's functions and calls the
adapter factory inside a fresh coroutine (lua/dap.lua `M.run`,
lua/dap/async.lua), connects the `pipe` adapter from whatever context the
factory's callback ran in (lua/dap/session.lua `Session.pipe`), dispatches
events to `listeners.before/after` on the main loop (`Session:handle_body`)
and closes the pipe as soon as `terminated` arrives
(`Session:event_terminated`).
"""

import pynvim
import pytest

from conftest import REPO, FIXTURES, describe, lua, nvim_bin, wait_until

STANDIN = FIXTURES / "dap_standin.lua"

PROGRAM = """\
local total = 0
for i = 1, 50 do
  total = total + i
  print('line ' .. i)
end
print('total ' .. total)
"""

# After the session: collect the finished coroutine, then keep Neovim busy
# so that freed memory is reused while the server thread still sends
# messages through the bridge (each connection to the server sends two).
BUSY = """
local pipe = ...
collectgarbage('collect')
collectgarbage('collect')
local garbage = {}
for i = 1, 20000 do
  garbage[i] = { i, tostring(i), string.rep('x', i % 64) }
end
for _ = 1, 5 do
  local done = false
  local handle = vim.uv.new_pipe(false)
  handle:connect(pipe, function()
    handle:close(function() done = true end)
  end)
  vim.wait(5000, function() return done end, 5)
  garbage = { garbage }
  collectgarbage('collect')
end
vim.wait(300, function() return false end, 10)
return #require('hotreload.native').log
"""


def fresh_nvim():
    argv = [
        nvim_bin(), "--embed", "--headless", "--clean", "-n", "-i", "NONE",
        "--cmd", f"set rtp^={REPO}",
    ]
    return pynvim.attach("child", argv=argv)


def alive(nv) -> bool:
    try:
        return nv.eval("1 + 1") == 2
    except Exception:
        return False


def close(nv):
    try:
        nv.exec_lua("pcall(function() require('hotreload.native').stop_server() end)")
        nv.command("qa!")
    except Exception:
        pass
    try:
        nv.close()
    except Exception:
        pass


def run_one_session(nv, program):
    lua(nv, "package.loaded.dap = dofile(...); require('hotreload').setup({})", str(STANDIN))
    assert lua(nv, "return package.loaded.hotreload_native == nil"), "setup() must not load the native module"
    nv.command(f"edit {program}")
    lua(nv, "local dap = require('dap'); dap.run(dap.configurations.lua[1])")
    wait_until(nv, "require('dap').closed_sessions == 1", timeout=60, what="the session to end")
    transcript = lua(nv, "return require('dap').transcript")
    events = [m.get("event") for m in transcript if m.get("type") == "event"]
    assert "terminated" in events, transcript
    outputs = "".join(m["body"]["output"] for m in transcript if m.get("event") == "output")
    assert "total 1275" in outputs, outputs
    assert lua(nv, "return require('dap').notes") == [], describe(nv)


@pytest.mark.parametrize("round_", range(20))
def test_a_session_started_inside_a_coroutine_never_crashes_neovim(env, tmp_path, round_):
    program = tmp_path / "prog.lua"
    program.write_text(PROGRAM)
    nv = fresh_nvim()
    try:
        run_one_session(nv, program)
        pipe = lua(nv, "return require('hotreload.native').server_info().pipe")
        assert lua(nv, BUSY, pipe) > 0
        wait_until(nv, "#vim.tbl_filter(function(m) return m.text:find('client left') end, "
                       "require('hotreload.native').log) >= 6", timeout=30,
                   what="the server's messages after the session")
        assert alive(nv), "Neovim died after the session"
    finally:
        close(nv)


def test_the_native_module_first_required_in_a_coroutine_uses_the_main_thread(env, tmp_path):
    # Without the glue: the cdylib itself must be safe whoever loads it.
    nv = fresh_nvim()
    try:
        loaded = lua(nv, """
            local co = coroutine.create(function()
              local mod = require('hotreload_native')
              return mod.version(), mod.error
            end)
            local ok, version, err = coroutine.resume(co)
            co = nil
            return { ok = ok, version = version, err = err }
        """)
        assert loaded["ok"] and loaded.get("err") is None, loaded
        assert loaded["version"] == lua(nv, "return require('hotreload.version')")
        # Started from yet another coroutine, which then dies as well.
        pipe = lua(nv, """
            local co = coroutine.create(function()
              return require('hotreload.native').start_server().pipe
            end)
            local _, pipe = coroutine.resume(co)
            return pipe
        """)
        assert lua(nv, BUSY, pipe) > 0
        wait_until(nv, "#vim.tbl_filter(function(m) return m.text:find('client left') end, "
                       "require('hotreload.native').log) >= 5", timeout=30,
                   what="the server's messages")
        assert alive(nv), "Neovim died"
    finally:
        close(nv)
