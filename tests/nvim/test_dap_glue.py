"""The nvim-dap glue against a real session, as nvim-dap really behaves:
the stand-in tests/nvim/fixtures/dap_standin.lua mirrors nvim-dap (it
ignores `invalidated`, continues the REPL's last line with each output
event, closes its pipe at once on `terminated` or `dap.close()`)."""

from pathlib import Path

from conftest import FIXTURES, describe, lua, wait_until

STANDIN = FIXTURES / "dap_standin.lua"

MAIN = """\
package.path = './?.lua;' .. package.path
local mod = require('mod')
local total = 0
for i = 1, 1000000 do
  total = total + mod.value(i)
  if i % 100 == 0 then io.write('') end
end
print(total)
"""
# The breakpoint: line 5 (total = ...).
MOD = "local M = {}\nfunction M.value(i)\n  return i\nend\nreturn M\n"
MOD_V2 = "local M = {}\nfunction M.value(i)\n  return i * 2\nend\nreturn M\n"


def program(tmp_path: Path):
    (tmp_path / "main.lua").write_text(MAIN)
    (tmp_path / "mod.lua").write_text(MOD)
    return tmp_path / "main.lua", tmp_path / "mod.lua"


def start_stopped(nvim, tmp_path):
    """A session of the stand-in, stopped at main.lua:5 with its frames."""
    main, mod = program(tmp_path)
    lua(nvim, "package.loaded.dap = dofile(...); require('hotreload').setup({})", str(STANDIN))
    lua(nvim, "require('dap').breakpoints[...] = { 5 }", str(main))
    nvim.command(f"cd {tmp_path}")
    nvim.command(f"edit {main}")
    lua(nvim, "local dap = require('dap'); dap.run(dap.configurations.lua[1])")
    wait_until(nvim, "(function() local s = require('dap').session(); return s and s.current_frame "
                     "and s.current_frame.scopes end)()", timeout=60, what="the stop with its scopes")
    return main, mod


def test_after_a_reload_nvim_dap_shows_fresh_threads_frames_and_scopes(nvim, tmp_path):
    _, mod = start_stopped(nvim, tmp_path)
    lua(nvim, """
        local s = require('dap').session()
        _G.old_frames = s.threads[s.stopped_thread_id].frames
        _G.sent_before = #require('dap').sent
    """)
    mod.write_text(MOD_V2)
    nvim.command(f"HotReload {mod}")
    wait_until(nvim, """(function()
        local s = require('dap').session()
        local t = s.threads[s.stopped_thread_id]
        return t and t.frames ~= _G.old_frames and s.current_frame.scopes ~= nil
      end)()""", timeout=30, what="frames refetched after the reload")
    sent = lua(nvim, "return vim.list_slice(require('dap').sent, _G.sent_before + 1)")
    assert sent[0] == "hotReload", sent
    for command in ("threads", "stackTrace", "scopes"):
        assert command in sent, sent
    frame = lua(nvim, "return require('dap').session().current_frame")
    assert frame["line"] == 5, frame


def test_console_lines_start_on_a_line_of_their_own_in_the_repl(nvim, tmp_path):
    _, mod = start_stopped(nvim, tmp_path)
    lua(nvim, "require('dap').session():repl_evaluate('1000 + 3')")
    wait_until(nvim, "vim.tbl_contains(require('dap').repl.lines(), '1003')", what="the REPL result")
    mod.write_text(MOD_V2)
    nvim.command(f"HotReload {mod}")
    wait_until(nvim, "vim.iter(require('dap').repl.lines()):any(function(l) return l:find('hot reload') end)",
               what="the reload summary in the REPL")
    lines = lua(nvim, "return require('dap').repl.lines()")
    assert "1003" in lines, lines
    assert any(line.startswith("hot reload mod") for line in lines), lines


def test_reload_events_carry_absolute_normalised_paths(nvim, tmp_path):
    _, mod = start_stopped(nvim, tmp_path)
    mod.write_text(MOD_V2)
    nvim.command(f"HotReload {mod}")
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadPost' end, _G.test_events) == 1")
    post = [e for e in lua(nvim, "return _G.test_events") if e["pattern"] == "HotReloadPost"][0]
    assert post["data"]["path"] == str(mod), post
    mod.write_text("local M = {}\nfunction M.value(i)\n  return i +\nend\nreturn M\n")
    nvim.command(f"HotReload {mod}")
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadFailed' end, _G.test_events) == 1")
    failed = [e for e in lua(nvim, "return _G.test_events") if e["pattern"] == "HotReloadFailed"][0]
    assert failed["data"]["file"] == str(mod), failed
    assert failed["data"]["line"] == 4, failed


def test_ending_a_session_the_normal_way_is_quiet(nvim, tmp_path):
    for round_ in range(3):
        start_stopped(nvim, tmp_path)
        lua(nvim, "require('dap').session():request('continue', { threadId = 1 })")
        lua(nvim, "require('dap').close()")
        wait_until(nvim, f"#vim.tbl_filter(function(m) return m.text:find('client left') end, "
                         f"require('hotreload.native').log) == {round_ + 1}", timeout=30,
                   what="the server to see the client leave")
    log = lua(nvim, "return require('hotreload.native').log")
    loud = [m for m in log if m["level"] in ("warn", "error")]
    assert loud == [], log
    notes = [n for n in lua(nvim, "return _G.test_notes") if n["level"] >= 3]
    assert notes == [], describe(nvim)
