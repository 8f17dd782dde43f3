"""End to end: `:HotReload run` with the real in-process session and host,
reload on save (good and bad edits), User events, stop, and an editor that
stays responsive while the program spins or floods its output."""

import re
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, copy_fixture, describe, lua, output_lines, wait_until


def has_line(pattern: str) -> str:
    """A Lua expression: some output line matches the Lua pattern."""
    return (
        "(function() for _, l in ipairs(require('hotreload.output').lines()) do "
        f"if l:find({pattern!r}) then return true end end return false end)()"
    )


def counts(nv, version: str):
    return [int(m.group(1)) for line in output_lines(nv) if (m := re.match(rf"{version} count=(\d+)", line))]


def set_line(nv, path: Path, lnum: int, text: str):
    """Edits one line of `path` in a buffer (1-based) without writing."""
    nv.command(f"edit {path}")
    nv.current.buffer[lnum - 1] = text


def children_named(nv, prefix: str):
    """Child processes of this Neovim whose command starts with `prefix`."""
    pid = lua(nv, "return vim.fn.getpid()")
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            try:
                comm = Path(f"/proc/{child}/comm").read_text().strip()
            except OSError:
                continue
            if comm.startswith(prefix):
                found.append((child, comm))
    return found


@pytest.fixture
def ticker(tmp_path):
    return copy_fixture("ticker", tmp_path)


def start_ticker(nv, ticker: Path, *args: str):
    nv.command(f"HotReload run {ticker / 'main.lua'} {' '.join(args)}")
    wait_until(nv, has_line("^v1 count=3"), what="the ticker's third tick")


def test_run_shows_the_program_output_in_a_buffer(nvim):
    nvim.command(f"HotReload run {FIXTURES / 'hello.lua'}")
    wait_until(nvim, has_line("program exited with code 0"), what="the program to exit")
    lines = output_lines(nvim)
    assert "hello from the fixture" in lines, lines
    assert any(line.startswith("no newline at the end") for line in lines), lines
    wins = lua(nvim, "return #vim.fn.win_findbuf(require('hotreload.output').buffer())")
    assert wins == 1, "the output buffer is not shown"
    wait_until(nvim, "not require('hotreload').status().running", what="the session to end")


def test_run_passes_arguments(nvim, ticker):
    nvim.command(f"HotReload run {ticker / 'main.lua'} 3")
    wait_until(nvim, has_line("^done$"), what="the ticker to finish after 3 ticks")
    assert counts(nvim, "v1") == [1, 2, 3], describe(nvim)


def test_output_buffer_follows_new_lines(nvim, ticker):
    start_ticker(nvim, ticker)
    nvim.command("wincmd j")  # into the output window
    assert lua(nvim, "return vim.api.nvim_buf_get_name(0)").endswith("hotreload://output")
    nvim.command("normal! G")
    before = lua(nvim, "return vim.fn.line('.')")
    wait_until(nvim, f"vim.fn.line('.') > {before}", what="the cursor to follow new output")
    assert lua(nvim, "return vim.fn.line('.') == vim.fn.line('$')")


def test_a_saved_edit_reloads_with_state_kept(nvim, ticker):
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    start_ticker(nvim, ticker)
    set_line(nvim, ticker / "counter.lua", 7, '  return ("v2 count=%d"):format(M.count)')
    nvim.command("write")
    wait_until(nvim, has_line("^v2 count="), what="output from the new code")
    v1, v2 = counts(nvim, "v1"), counts(nvim, "v2")
    assert v2[0] > v1[-1] >= 3, f"count restarted instead of carrying on: v1={v1} v2={v2}"
    assert v2[0] <= v1[-1] + 2, f"ticks were lost: v1={v1} v2={v2}"
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadPost' end, _G.test_events) > 0")
    events = lua(nvim, "return _G.test_events")
    pre = [e for e in events if e["pattern"] == "HotReloadPre"]
    post = [e for e in events if e["pattern"] == "HotReloadPost"]
    assert pre and pre[0]["data"]["path"].endswith("counter.lua"), events
    body = post[0]["data"]
    assert body["module"] == "counter", body
    assert any(name.endswith("step") for name in body["changed"]), body
    assert "durationMs" in body, body
    notes = [n["msg"] for n in lua(nvim, "return _G.test_notes")]
    summary = lua(nvim, "return require('hotreload_native').reload_summary(...)", body)
    assert summary in notes, (summary, notes)
    status = lua(nvim, "return require('hotreload').status()")
    assert status["running"] and status["last"]["ok"], status


def test_a_bad_edit_marks_the_line_and_the_next_good_edit_clears_it(nvim, ticker):
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    start_ticker(nvim, ticker)
    counter = ticker / "counter.lua"
    set_line(nvim, counter, 7, '  return ("v2 count=%d"):format(M.count')  # missing ")"
    nvim.command("write")
    wait_until(nvim, "#vim.fn.getqflist() > 0", what="a quickfix entry for the syntax error")
    qf = lua(nvim, "local q = vim.fn.getqflist({ title = 0, items = 0 }); return { title = q.title, items = vim.tbl_map(function(i) return { file = vim.api.nvim_buf_get_name(i.bufnr), lnum = i.lnum, text = i.text } end, q.items) }")
    assert qf["title"] == "hotreload", qf
    assert qf["items"][0]["file"] == str(counter), qf
    assert 7 <= qf["items"][0]["lnum"] <= 8, qf
    diags = lua(nvim, "return vim.diagnostic.get(vim.fn.bufnr(...), { namespace = require('hotreload.report').ns })", str(counter))
    assert len(diags) == 1 and 6 <= diags[0]["lnum"] <= 7, diags
    failed = [e for e in lua(nvim, "return _G.test_events") if e["pattern"] == "HotReloadFailed"]
    assert failed and failed[0]["data"]["line"] == qf["items"][0]["lnum"], failed
    assert failed[0]["data"]["kind"] == "compile", failed
    # The program is exactly as before: still the old code, still counting.
    seen = len(counts(nvim, "v1"))
    wait_until(nvim, f"#vim.tbl_filter(function(l) return l:find('^v1 count=') end, require('hotreload.output').lines()) > {seen + 1}")
    assert counts(nvim, "v2") == []

    set_line(nvim, counter, 7, '  return ("v3 count=%d"):format(M.count)')
    nvim.command("write")
    wait_until(nvim, has_line("^v3 count="), what="output from the fixed code")
    assert lua(nvim, "return #vim.fn.getqflist()") == 0, describe(nvim)
    assert lua(nvim, "return #vim.diagnostic.get(nil, { namespace = require('hotreload.report').ns })") == 0
    v1, v3 = counts(nvim, "v1"), counts(nvim, "v3")
    assert v3[0] > v1[-1], f"state lost: v1={v1} v3={v3}"


def test_hotreload_command_sends_the_unsaved_buffer(nvim, ticker):
    start_ticker(nvim, ticker)
    set_line(nvim, ticker / "counter.lua", 7, '  return ("unsaved count=%d"):format(M.count)')
    nvim.command("HotReload")
    wait_until(nvim, has_line("^unsaved count="), what="output from the unsaved buffer's code")
    assert "v1 count" in (ticker / "counter.lua").read_text(), "the file on disk must be untouched"


def test_saving_a_file_outside_the_program_does_not_reload(nvim, ticker, tmp_path):
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    start_ticker(nvim, ticker)
    other = tmp_path / "elsewhere.lua"
    other.write_text("return 1\n")
    nvim.command(f"edit {other}")
    nvim.command("write")
    time.sleep(0.3)
    assert lua(nvim, "return _G.test_events") == [], describe(nvim)


def test_saving_a_file_the_program_has_not_loaded_stays_quiet(nvim, ticker):
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    start_ticker(nvim, ticker)
    unused = ticker / "not_required_yet.lua"
    unused.write_text("return { later = true }\n")
    nvim.command(f"edit {unused}")
    nvim.command("write")
    time.sleep(0.4)
    errors = [n for n in lua(nvim, "return _G.test_notes") if n["level"] >= 3]
    assert errors == [], errors
    patterns = [e["pattern"] for e in lua(nvim, "return _G.test_events")]
    assert "HotReloadFailed" not in patterns and "HotReloadPost" not in patterns, describe(nvim)
    assert lua(nvim, "return #vim.diagnostic.get(nil, { namespace = require('hotreload.report').ns })") == 0
    # The program keeps running and a real module still reloads on save.
    set_line(nvim, ticker / "counter.lua", 7, "  return ('v2 count=%d'):format(M.count)")
    nvim.command("write")
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadPost' end, _G.test_events) > 0",
               what="a reload of counter.lua")


def test_stop_ends_the_program_and_its_host(nvim, ticker):
    start_ticker(nvim, ticker)
    assert children_named(nvim, "hotreload-host"), "no host process while running"
    nvim.command("HotReload stop")
    wait_until(nvim, "not require('hotreload').status().running")
    deadline = time.monotonic() + 5
    while children_named(nvim, "hotreload-host") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children_named(nvim, "hotreload-host") == [], "host still running after stop"
    seen = len(output_lines(nvim))
    time.sleep(0.3)
    assert len(output_lines(nvim)) == seen, "output still arriving after stop"


# A main loop held by the program's I/O answers late or never; the bound is
# loose enough for a loaded 2-core machine and still far below a freeze.
RPC_BOUND = 1.5


def rpc_latencies(nv, n: int = 20):
    worst = 0.0
    for _ in range(n):
        t = time.monotonic()
        assert nv.eval("1 + 1") == 2
        worst = max(worst, time.monotonic() - t)
        time.sleep(0.02)
    return worst


def test_editor_answers_quickly_while_the_program_spins(nvim):
    nvim.command(f"HotReload run {FIXTURES / 'busy' / 'spin.lua'}")
    wait_until(nvim, "require('hotreload').status().state == 'running'")
    worst = rpc_latencies(nvim)
    assert worst < RPC_BOUND, f"slowest RPC took {worst:.3f}s while the program spins"


def test_editor_answers_quickly_while_the_program_floods_output(nvim):
    lua(nvim, "require('hotreload').setup({ output = { max_lines = 2000 } })")
    nvim.command(f"HotReload run {FIXTURES / 'busy' / 'flood.lua'}")
    wait_until(nvim, "vim.api.nvim_buf_line_count(require('hotreload.output').buffer()) >= 2000",
               what="the output buffer to fill")
    worst = rpc_latencies(nvim)
    assert worst < RPC_BOUND, f"slowest RPC took {worst:.3f}s while the program floods"
    assert lua(nvim, "return vim.api.nvim_buf_line_count(require('hotreload.output').buffer())") <= 2000


def test_an_uncaught_error_shows_its_traceback_and_notifies(nvim):
    nvim.command(f"HotReload run {FIXTURES / 'crash.lua'}")
    wait_until(nvim, has_line("stopped %(exception%)"), what="the stop on the error")
    lines = output_lines(nvim)
    assert "about to fail" in lines, lines
    assert any("crash.lua:3: boom from the fixture" in line for line in lines), lines
    assert "stack traceback:" in lines, lines
    errors = [n for n in lua(nvim, "return _G.test_notes") if n["level"] == 4]
    assert errors and "boom from the fixture" in errors[-1]["msg"], errors
    status = lua(nvim, "return require('hotreload').status()")
    assert status["running"] and status["state"] == "stopped", status
    assert status["text"] == "HR crash.lua", status


def test_running_again_ends_the_previous_program(nvim, ticker):
    start_ticker(nvim, ticker)
    first = children_named(nvim, "hotreload-host")
    assert len(first) == 1, first
    nvim.command(f"HotReload run {ticker / 'main.lua'}")
    wait_until(nvim, has_line("^v1 count=2"), what="the second run's output")
    deadline = time.monotonic() + 5
    while len(children_named(nvim, "hotreload-host")) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    now = children_named(nvim, "hotreload-host")
    assert len(now) == 1 and now != first, f"before: {first}, after: {now}"


# A stand-in for nvim-dap (not installable here) that does what nvim-dap does
# with our adapter: call the factory, connect to the pipe it yields, launch.
# Its session object forwards requests over that real connection.
FAKE_DAP_SESSION = """
local program = ...
local config = { type = 'hotreload', request = 'launch', name = 'test', program = program }
local session = { config = config, closed = false }
package.loaded.dap = {
  adapters = {}, configurations = {}, listeners = { after = {}, before = {} },
  session = function() return session end,
  sessions = function() return { session } end,
}
require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })
_G.test_dap_output = {}
package.loaded.dap.adapters.hotreload(function(adapter)
  require('hotreload.client').connect(adapter.pipe, {
    on_event = function(event, body)
      if event == 'output' then table.insert(_G.test_dap_output, body.output) end
      if event == 'initialized' then session.client:request('configurationDone', {}) end
    end,
  }, function(err, client)
    assert(not err, err)
    session.client = client
    function session:request(command, args, cb) client:request(command, args, cb) end
    client:request('initialize', { adapterID = 'hotreload' }, function()
      client:request('launch', config)
    end)
  end)
end, config)
"""


def test_reload_on_save_through_an_nvim_dap_session(nvim, ticker):
    lua(nvim, FAKE_DAP_SESSION, str(ticker / "main.lua"))
    dap_lines = "table.concat(_G.test_dap_output)"
    wait_until(nvim, f"{dap_lines}:find('v1 count=3') ~= nil", what="the program's output over DAP")
    set_line(nvim, ticker / "counter.lua", 7, '  return ("dap count=%d"):format(M.count)')
    nvim.command("write")
    wait_until(nvim, f"{dap_lines}:find('dap count=') ~= nil", what="new code's output over DAP")
    text = lua(nvim, f"return {dap_lines}")
    v1 = [int(n) for n in re.findall(r"v1 count=(\d+)", text)]
    new = [int(n) for n in re.findall(r"dap count=(\d+)", text)]
    assert new[0] > v1[-1], f"state lost: {text}"
    post = [e for e in lua(nvim, "return _G.test_events") if e["pattern"] == "HotReloadPost"]
    assert post and post[0]["data"]["module"] == "counter", describe(nvim)
    lua(nvim, "package.loaded.dap.session().client:request('disconnect', { terminateDebuggee = true })")


def test_reloading_the_running_main_program_names_the_local_function_that_changed(nvim, tmp_path):
    main = tmp_path / "main.lua"
    main.write_text(
        "local function label(n)\n"
        "  return ('v1 n=%d'):format(n)\n"
        "end\n"
        "for n = 1, 2000 do\n"
        "  print(label(n))\n"
        "  io.stdout:flush()\n"
        "  os.execute('sleep 0.05')\n"
        "end\n"
    )
    nvim.command(f"HotReload run {main}")
    wait_until(nvim, has_line("^v1 n=3"), what="the loop's third line")
    set_line(nvim, main, 2, "  return ('v2 n=%d'):format(n)")
    nvim.command("write")
    nvim.command("HotReload")
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadPost' end, _G.test_events) > 0",
               what="the reload")
    wait_until(nvim, has_line("^v2 n="), what="the loop calling the new code")
    post = [e for e in lua(nvim, "return _G.test_events") if e["pattern"] == "HotReloadPost"]
    assert post[0]["data"]["changed"] == ["label"], post
