"""Run control without nvim-dap: continue after an error, rerun the last
program, reopen the output, locations of program errors, commands that say
what they did not understand."""

import pynvim
import pytest

from conftest import FIXTURES, REPO, copy_fixture, lua, nvim_bin, output_lines, wait_until
from test_run import has_line, start_ticker


def errors(nvim):
    return [n["msg"] for n in lua(nvim, "return _G.test_notes") if n["level"] >= 4]


def test_an_error_in_reloaded_code_stops_and_continue_goes_on(nvim, tmp_path):
    ticker = copy_fixture("ticker", tmp_path)
    start_ticker(nvim, ticker)
    counter = ticker / "counter.lua"
    nvim.command(f"edit {counter}")
    nvim.current.buffer[5] = "  M.count = M.count + nil"
    nvim.command("HotReload")
    wait_until(nvim, "require('hotreload').status().state == 'stopped'", what="the stop on the error")
    assert any("continue" in m for m in errors(nvim)), errors(nvim)
    # The reload that brought the error offers no retry of it (its answer
    # may come after the stop): only a reload made while stopped does.
    wait_until(nvim, "vim.iter(_G.test_notes):any(function(n) return n.msg:find('counter: 1 changed', 1, true) ~= nil end)",
               what="the reload's report")
    notes = [n["msg"] for n in lua(nvim, "return _G.test_notes")]
    assert not any("reloaded while stopped" in m for m in notes), notes
    # The error's location is in the quickfix list and a diagnostic.
    wait_until(nvim, "#vim.fn.getqflist() > 0", what="the error's quickfix entry")
    qf = lua(nvim, "return vim.fn.getqflist({ title = 0, items = 0 })")
    assert qf["title"] == "hotreload" and qf["items"][0]["lnum"] == 6, qf
    nvim.command("HotReload continue")
    # Uncaught, the error ends the program; nothing is stuck.
    wait_until(nvim, "not require('hotreload').status().running", timeout=30, what="the program to go on and end")
    assert lua(nvim, "return vim.fn.getqflist({ items = 0 }).items") == []


@pytest.mark.parametrize("runtime", ["lua5.4", "lua5.1"])
def test_after_an_error_stop_fixing_and_saving_retries_the_failed_call(nvim, tmp_path, runtime):
    """The edit-and-continue loop: reloaded code fails, the program stops on
    the error; fixing and saving offers the retry, `:HotReload restart` runs
    the failed call again with the new code and the program goes on with its
    state (the count carries on). On the newest and the oldest PUC Lua."""
    lua(nvim, "require('hotreload').setup({ runtime = ... })", runtime)
    ticker = copy_fixture("ticker", tmp_path)
    start_ticker(nvim, ticker)
    counter = ticker / "counter.lua"
    nvim.command(f"edit {counter}")
    nvim.current.buffer[5] = "  M.count = M.count + nil"
    nvim.command("write")
    nvim.command("HotReload")
    wait_until(nvim, "require('hotreload').status().state == 'stopped'", what="the stop on the error")
    assert any("HotReload restart" in m for m in errors(nvim)), errors(nvim)
    nvim.current.buffer[5] = "  M.count = M.count + 1"
    nvim.current.buffer[6] = "  return ('v2 count=%d on %s'):format(M.count, _VERSION)"
    nvim.command("write")
    nvim.command("HotReload")
    notes = [n["msg"] for n in lua(nvim, "return _G.test_notes")]
    wait_until(nvim, "vim.iter(_G.test_notes):any(function(n) return n.msg:find(':HotReload restart retries', 1, true) ~= nil and n.msg:find('reloaded while stopped', 1, true) ~= nil end)",
               what="the offer to retry")
    nvim.command("HotReload restart")
    wait_until(nvim, has_line("^v2 count="), timeout=30, what="the retried call's output")
    wait_until(nvim, "require('hotreload').status().state == 'running'", what="the program to go on")
    lines = output_lines(nvim)
    v1 = [int(line.split("=")[1]) for line in lines if line.startswith("v1 count=")]
    v2 = [int(line.split("=")[1].split()[0]) for line in lines if line.startswith("v2 count=")]
    assert all(line.endswith(runtime.replace("lua", "Lua ")) for line in lines if line.startswith("v2 ")), lines
    # The failed call counted nothing; the retry took the next number.
    assert v2[0] == max(v1) + 1, lines
    assert lua(nvim, "return vim.fn.getqflist({ items = 0 }).items") == [], notes


def test_restart_with_nothing_stopped_on_an_error_says_so(nvim):
    nvim.command("HotReload restart")
    notes = lua(nvim, "return _G.test_notes")
    assert any("no program stopped on an error" in n["msg"] for n in notes), notes


def test_continue_with_nothing_stopped_says_so(nvim):
    nvim.command("HotReload continue")
    notes = lua(nvim, "return _G.test_notes")
    assert any("no stopped program" in n["msg"] for n in notes), notes


def test_a_program_that_errors_at_start_gets_a_quickfix_entry(nvim, tmp_path):
    crash = copy_fixture("crash.lua", tmp_path)
    nvim.command(f"HotReload run {crash}")
    wait_until(nvim, has_line("stopped %(exception%)"), what="the stop on the error")
    # The location comes from the stopped stack, asked for after the stop.
    wait_until(nvim, "#vim.fn.getqflist() > 0", what="the error's quickfix entry")
    qf = lua(nvim, "return vim.fn.getqflist({ title = 0, items = 0 })")
    assert qf["title"] == "hotreload" and len(qf["items"]) == 1, (qf, lua(nvim, "return _G.test_notes"))
    item = qf["items"][0]
    assert item["lnum"] == 3 and "boom from the fixture" in item["text"], item
    assert lua(nvim, "return vim.api.nvim_buf_get_name(...)", item["bufnr"]) == str(crash)
    diags = lua(nvim, "return vim.diagnostic.get(nil, { namespace = require('hotreload.report').ns })")
    assert len(diags) == 1 and diags[0]["lnum"] == 2, diags


def test_run_from_a_module_buffer_reruns_the_last_program(nvim, tmp_path):
    ticker = copy_fixture("ticker", tmp_path)
    start_ticker(nvim, ticker, "5")
    wait_until(nvim, "not require('hotreload').status().running", timeout=30, what="the first run to end")
    nvim.command(f"edit {ticker / 'counter.lua'}")
    nvim.command("HotReload run")
    assert lua(nvim, "return require('hotreload').status().program") == str(ticker / "main.lua")
    wait_until(nvim, has_line("^done"), timeout=30, what="the rerun with the same arguments")


def test_a_new_run_never_shows_the_previous_programs_exit(nvim, tmp_path):
    ticker = copy_fixture("ticker", tmp_path)
    start_ticker(nvim, ticker)
    hello = copy_fixture("hello.lua", tmp_path)
    nvim.command(f"HotReload run {hello}")
    wait_until(nvim, has_line("program exited"), timeout=30, what="the second program's end")
    lines = output_lines(nvim)
    assert not any("count=" in line for line in lines), lines
    assert sum("exited with code" in line for line in lines) == 1, lines


def test_the_output_window_reopens_and_keeps_its_height(nvim, tmp_path):
    hello = copy_fixture("hello.lua", tmp_path)
    nvim.command(f"HotReload run {hello}")
    wait_until(nvim, has_line("program exited"), what="the program's end")
    wins = lua(nvim, "return vim.fn.win_findbuf(require('hotreload.output').buffer())")
    assert len(wins) == 1
    assert lua(nvim, "return vim.wo[...].winfixheight", wins[0]) is True
    lua(nvim, "vim.api.nvim_win_close(..., true)", wins[0])
    nvim.command("HotReload output")
    wins = lua(nvim, "return vim.fn.win_findbuf(require('hotreload.output').buffer())")
    assert len(wins) == 1
    assert lua(nvim, "return vim.api.nvim_win_get_height(...)", wins[0]) == 10


def test_completion_offers_subcommands_then_lua_files_only(nvim, tmp_path):
    (tmp_path / "game.lua").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "sub").mkdir()
    nvim.command(f"cd {tmp_path}")
    words = lua(nvim, "return vim.fn.getcompletion('HotReload ', 'cmdline')")
    assert "continue" in words and "output" in words and "game.lua" in words and "sub/" in words, words
    assert "notes.txt" not in words, words


def test_an_unknown_word_is_named_as_neither_subcommand_nor_file(nvim):
    nvim.command("HotReload statuss")
    assert any("unknown subcommand or file \"statuss\"" in m for m in errors(nvim)), errors(nvim)


def test_setup_defines_the_command_without_the_plugin_file(env):
    nv = pynvim.attach("child", argv=[nvim_bin(), "--embed", "--headless", "-u", "NONE",
                                      "-n", "-i", "NONE", "--cmd", f"set rtp^={REPO}"])
    try:
        assert nv.eval("exists(':HotReload')") == 0
        nv.exec_lua("require('hotreload').setup({})")
        assert nv.eval("exists(':HotReload')") == 2
    finally:
        nv.close()
