"""Breakpoints that follow their code across `:HotReload`, and restarting a
frame with the reloaded code, through the nvim-dap glue against a real
session (the stand-in tests/nvim/fixtures/dap_standin.lua mirrors
nvim-dap: it records every message it receives in `transcript`)."""

from pathlib import Path

from conftest import FIXTURES, lua, wait_until

STANDIN = FIXTURES / "dap_standin.lua"

MAIN = """\
package.path = './?.lua;' .. package.path
local mod = require('mod')
local total = 0
for i = 1, 3 do
  total = total + mod.value(i)
end
print('total ' .. total)
"""
MOD = "local M = {}\nfunction M.value(i)\n  return i\nend\nreturn M\n"
# Two lines above the function: its body moves from line 3 to line 5.
MOD_MOVED = "local M = {}\n-- a note\n-- another\nfunction M.value(i)\n  return i * 10\nend\nreturn M\n"


def start(nvim, tmp_path: Path):
    """A session of the stand-in stopped at main.lua:5 (in the loop)."""
    main = tmp_path / "main.lua"
    mod = tmp_path / "mod.lua"
    main.write_text(MAIN)
    mod.write_text(MOD)
    lua(nvim, "package.loaded.dap = dofile(...); require('hotreload').setup({})", str(STANDIN))
    lua(nvim, "require('dap').breakpoints[...] = { 5 }", str(main))
    nvim.command(f"cd {tmp_path}")
    nvim.command(f"edit {main}")
    lua(nvim, "local dap = require('dap'); dap.run(dap.configurations.lua[1])")
    wait_until(nvim, "(function() local s = require('dap').session(); return s and s.current_frame "
                     "and s.current_frame.line == 5 end)()", timeout=60, what="the stop at main.lua:5")
    return main, mod


def request(nvim, command, arguments):
    """Sends a request through the session; waits for and returns its answer."""
    lua(nvim, """
        local command, arguments = ...
        _G.answer = nil
        require('dap').session():request(command, arguments, function(err, body)
          _G.answer = { ok = err == nil, body = body, message = err and err.message }
        end)
    """, command, arguments)
    return wait_until(nvim, "_G.answer", timeout=30, what=f"the {command} response")


def stopped_in(nvim, path: Path, line: int, what: str):
    wait_until(nvim, f"""(function()
        local f = require('dap').session().current_frame
        return f and f.line == {line} and f.source and f.source.path == {str(path)!r}
      end)()""", timeout=30, what=what)


def test_a_breakpoint_follows_its_line_when_hotreload_moves_it(nvim, tmp_path):
    main, mod = start(nvim, tmp_path)
    mod_path = mod.resolve()
    answer = request(nvim, "setBreakpoints", {"source": {"path": str(mod_path)}, "breakpoints": [{"line": 3}]})
    assert answer["ok"], answer
    bp_id = answer["body"]["breakpoints"][0]["id"]
    # Main's breakpoint off, so the next stop is the moved one.
    assert request(nvim, "setBreakpoints", {"source": {"path": str(main.resolve())}, "breakpoints": []})["ok"]
    mod.write_text(MOD_MOVED)
    nvim.command(f"HotReload {mod}")
    wait_until(nvim, f"""(function()
        for _, m in ipairs(require('dap').transcript) do
          if m.event == 'breakpoint' and m.body.breakpoint.id == {bp_id}
             and m.body.breakpoint.line == 5 then
            return true
          end
        end
      end)()""", timeout=30, what="a breakpoint event with the new line")
    assert request(nvim, "continue", {"threadId": 1})["ok"]
    stopped_in(nvim, mod_path, 5, "the stop at the moved breakpoint (mod.lua:5)")


def test_a_stopped_frame_restarts_with_the_reloaded_code(nvim, tmp_path):
    main, mod = start(nvim, tmp_path)
    mod_path = mod.resolve()
    assert request(nvim, "setBreakpoints", {"source": {"path": str(mod_path)}, "breakpoints": [{"line": 3}]})["ok"]
    assert request(nvim, "setBreakpoints", {"source": {"path": str(main.resolve())}, "breakpoints": []})["ok"]
    assert request(nvim, "continue", {"threadId": 1})["ok"]
    stopped_in(nvim, mod_path, 3, "the stop in mod.value")
    mod.write_text(MOD_MOVED)
    nvim.command(f"HotReload {mod}")
    wait_until(nvim, """(function()
        for _, m in ipairs(require('dap').transcript) do
          if m.event == 'hotReloaded' then return true end
        end
      end)()""", timeout=30, what="the reload")
    frame_id = lua(nvim, "return require('dap').session().current_frame.id")
    answer = request(nvim, "restartFrame", {"frameId": frame_id})
    assert answer["ok"], answer
    # The restarted function stops at its first line, now line 5.
    stopped_in(nvim, mod_path, 5, "the restarted frame at its new first line")
    assert request(nvim, "setBreakpoints", {"source": {"path": str(mod_path)}, "breakpoints": []})["ok"]
    assert request(nvim, "continue", {"threadId": 1})["ok"]
    # Every call ran the new code (times ten), the restarted one included.
    wait_until(nvim, """(function()
        local out = require('hotreload.output').lines()
        for _, l in ipairs(out) do if l:find('total 60', 1, true) then return true end end
        for _, m in ipairs(require('dap').transcript) do
          if m.event == 'output' and (m.body.output or ''):find('total 60', 1, true) then return true end
        end
      end)()""", timeout=30, what="the program's total with the new code")
