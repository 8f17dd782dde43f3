"""LuaNext (`.luax`) and TypeScript (TypeScriptToLua) programs from Neovim,
with the real in-process session and host: the `luanext` filetype, running
and reloading on save at the source's lines, compile errors as diagnostics
at the source line, and the nvim-dap configurations (through the nvim-dap
stand-in, tests/nvim/fixtures/dap_standin.lua).

LuaNext's compiler is on no registry these machines reach: the stand-in
compiler tests/fixtures/luanext/luanext (LuaNext's command line, real V3
maps) is put on PATH as `luanext`. TypeScriptToLua is the real one
(`scripts/tstl-env`), linked as the project's node_modules/.bin/tstl."""

import os
import re
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, copy_fixture, describe, lua, wait_until

STANDIN = FIXTURES / "dap_standin.lua"
LUANEXT = REPO / "tests/fixtures/luanext/luanext"


def has_line(pattern: str) -> str:
    """A Lua expression: some output line matches the Lua pattern."""
    return (
        "(function() for _, l in ipairs(require('hotreload.output').lines()) do "
        f"if l:find({pattern!r}) then return true end end return false end)()"
    )


def repl_has(pattern: str) -> str:
    """A Lua expression: some line of the stand-in's REPL matches."""
    return (
        "(function() for _, l in ipairs(require('dap').repl.lines()) do "
        f"if l:find({pattern!r}) then return true end end return false end)()"
    )


def counts(lines, version: str):
    return [int(m.group(1)) for line in lines if (m := re.match(rf"{version} count=(\d+)", line))]


def events(nv, pattern: str):
    return [e for e in lua(nv, "return _G.test_events") if e["pattern"] == pattern]


def tstl_path() -> Path:
    found = os.environ.get("HOTRELOAD_TSTL") or str(REPO / ".venv/node/node_modules/.bin/tstl")
    if not Path(found).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{found} is missing (scripts/tstl-env installs it)")
        pytest.skip(f"TypeScriptToLua is missing: {found} (scripts/tstl-env installs it)")
    return Path(found)


@pytest.fixture
def luanext_on_path(env, monkeypatch):
    """`luanext` on PATH for the Neovim started after this fixture."""
    bin_dir = env / "bin"
    bin_dir.mkdir()
    (bin_dir / "luanext").symlink_to(LUANEXT)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


@pytest.fixture
def ts_project(tmp_path):
    """The TypeScript ticker, not compiled, with TypeScriptToLua installed
    as a project installs it."""
    tstl = tstl_path()
    project = copy_fixture("ts_ticker", tmp_path)
    bin_dir = project / "node_modules/.bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "tstl").symlink_to(tstl.resolve())
    return project


def test_luax_files_get_the_luanext_filetype(nvim, tmp_path):
    source = copy_fixture("luax_ticker", tmp_path) / "counter.luax"
    nvim.command("filetype plugin on")
    nvim.command("syntax on")
    nvim.command(f"edit {source}")
    got = lua(nvim, "return { vim.bo.filetype, vim.bo.commentstring, vim.b.current_syntax, vim.bo.suffixesadd }")
    assert got == ["luanext", "-- %s", "luanext", ".luax,.lua"], got
    # Lua's highlighting applies: `local` is a Lua keyword group.
    group = lua(nvim, "return vim.fn.synIDattr(vim.fn.synID(4, 1, 1), 'name')")
    assert group.startswith("lua"), group


def test_a_luax_program_runs_and_a_saved_module_reloads_with_state_kept(luanext_on_path, nvim, tmp_path):
    ticker = copy_fixture("luax_ticker", tmp_path)
    counter = ticker / "counter.luax"
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    nvim.command(f"edit {ticker / 'main.luax'}")
    nvim.command("HotReload run")
    wait_until(nvim, has_line("^v1 count=3"), timeout=60, what="the LuaNext ticker's third tick")

    # A type error: a failed reload, a diagnostic at the .luax line, the
    # program running the old code.
    nvim.command(f"edit {counter}")
    nvim.current.buffer[8] = '  local label: number = "v2"'
    nvim.command("write")
    wait_until(nvim, "#vim.fn.getqflist() > 0", timeout=30, what="a quickfix entry for the type error")
    diags = lua(nvim, "return vim.diagnostic.get(0, { namespace = require('hotreload.report').ns })")
    assert len(diags) == 1 and diags[0]["lnum"] == 8, (diags, describe(nvim))
    assert "Type 'string' is not assignable to type 'number'" in diags[0]["message"], diags
    failed = events(nvim, "HotReloadFailed")
    assert failed and failed[0]["data"]["file"] == str(counter), failed
    assert failed[0]["data"]["line"] == 9, failed
    seen = len(counts(lua(nvim, "return require('hotreload.output').lines()"), "v1"))
    wait_until(
        nvim,
        f"#vim.tbl_filter(function(l) return l:find('^v1 count=') end, require('hotreload.output').lines()) > {seen + 1}",
        what="the old code still ticking",
    )

    # Fixed: the new code takes over, the count carries on, the marks go.
    nvim.current.buffer[8] = '  return "v2 count=" .. count'
    nvim.command("write")
    wait_until(nvim, has_line("^v2 count="), timeout=30, what="output from the new code")
    lines = lua(nvim, "return require('hotreload.output').lines()")
    v1, v2 = counts(lines, "v1"), counts(lines, "v2")
    assert v2[0] > v1[-1] >= 3, f"count restarted: v1={v1} v2={v2}"
    wait_until(nvim, "#vim.fn.getqflist() == 0", what="the quickfix entry cleared")
    post = events(nvim, "HotReloadPost")
    assert post and post[-1]["data"]["path"] == str(counter), post


def test_hotreload_on_an_unsaved_luax_buffer_asks_to_save_and_changes_nothing(luanext_on_path, nvim, tmp_path):
    ticker = copy_fixture("luax_ticker", tmp_path)
    nvim.command(f"HotReload run {ticker / 'main.luax'}")
    wait_until(nvim, has_line("^v1 count=2"), timeout=60, what="the LuaNext ticker running")
    nvim.command(f"edit {ticker / 'counter.luax'}")
    nvim.current.buffer[8] = '  return "unsaved count=" .. count'
    nvim.command("HotReload")
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadFailed' end, _G.test_events) > 0",
               what="the refusal")
    failed = events(nvim, "HotReloadFailed")[0]["data"]
    assert failed["kind"] == "refused", failed
    count = len(lua(nvim, "return require('hotreload.output').lines()"))
    wait_until(nvim, f"#require('hotreload.output').lines() > {count + 1}", what="more ticks")
    assert not lua(nvim, f"return {has_line('^unsaved')}"), describe(nvim)


def test_a_ts_program_through_nvim_dap_stops_at_ts_lines_and_reloads_on_save(nvim, ts_project):
    main, counter = ts_project / "main.ts", ts_project / "counter.ts"
    lua(nvim, "package.loaded.dap = dofile(...)", str(STANDIN))
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    names = lua(nvim, "return vim.tbl_map(function(c) return c.name end, require('dap').configurations.typescript)")
    assert names == ["Launch file, TypeScriptToLua (hot reload)"], names
    # `print(step());` on main.ts:8.
    lua(nvim, "require('dap').breakpoints[...] = { 8 }", str(main))
    nvim.command(f"edit {main}")
    lua(nvim, "local dap = require('dap'); dap.run(dap.configurations.typescript[1])")
    wait_until(nvim, "(function() local s = require('dap').session(); return s and s.current_frame end)()",
               timeout=90, what="the stop at main.ts:8 (the project compiled at launch)")
    frame = lua(nvim, "local f = require('dap').session().current_frame; return { f.source.path, f.line }")
    assert frame == [str(main), 8], (frame, describe(nvim))
    assert (ts_project / "out/main.lua").is_file(), "launch compiled the project"
    # Inspected: the loop's `i` among the locals nvim-dap fetched.
    wait_until(nvim, "(function() local f = require('dap').session().current_frame; "
                     "return f.scopes and f.scopes[1].variables end)()", what="the locals")
    i = lua(nvim, """
        for _, v in ipairs(require('dap').session().current_frame.scopes[1].variables) do
          if v.name == 'i' then return v.value end
        end
    """)
    assert i == "0", describe(nvim)
    # Stepped by .ts lines: `print(step());` (8) -> `os.execute(...)` (9).
    lua(nvim, "local s = require('dap').session(); s:request('next', { threadId = s.stopped_thread_id })")
    wait_until(nvim, "(function() local f = require('dap').session().current_frame; "
                     "return f and f.line == 9 end)()", what="the step to main.ts:9")
    lua(nvim, """
        local s = require('dap').session()
        s:request('setBreakpoints', { source = { path = ... }, breakpoints = {} }, function()
          s:request('continue', { threadId = s.stopped_thread_id })
        end)
    """, str(main))
    wait_until(nvim, repl_has("^v1 count=3"), timeout=30, what="the TypeScript ticker's third tick")

    # Saved, not compiled by anyone else: the session recompiles and reloads.
    nvim.command(f"edit {counter}")
    nvim.current.buffer[5] = '  return "v2 count=" + count;'
    nvim.command("write")
    wait_until(nvim, repl_has("^v2 count="), timeout=60, what="output from the recompiled module")
    lines = lua(nvim, "return require('dap').repl.lines()")
    v1, v2 = counts(lines, "v1"), counts(lines, "v2")
    assert v2[0] > v1[-1] >= 3, f"count restarted: v1={v1} v2={v2}"

    # A type error: a diagnostic at the .ts line; the program keeps going.
    nvim.current.buffer[5] = "  return 5;"
    nvim.command("write")
    wait_until(nvim, "#vim.fn.getqflist() > 0", timeout=60, what="a quickfix entry for the type error")
    diags = lua(nvim, "return vim.diagnostic.get(0, { namespace = require('hotreload.report').ns })")
    assert len(diags) == 1 and diags[0]["lnum"] == 5, (diags, describe(nvim))
    assert "not assignable to type 'string'" in diags[0]["message"], diags
    seen = len(counts(lua(nvim, "return require('dap').repl.lines()"), "v2"))
    wait_until(nvim, f"""#vim.tbl_filter(function(l) return l:find('^v2 count=') end,
                        require('dap').repl.lines()) > {seen + 1}""", what="the v2 code still ticking")
    lua(nvim, "require('dap').terminate()")


def test_saving_a_ts_file_does_not_reload_into_a_program_without_source_maps(nvim, tmp_path):
    """A plain Lua program: a `.ts` file under its root is none of its own."""
    ticker = copy_fixture("ticker", tmp_path)
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    nvim.command(f"HotReload run {ticker / 'main.lua'}")
    wait_until(nvim, has_line("^v1 count=2"), timeout=60, what="the ticker running")
    stray = ticker / "stray.ts"
    nvim.command(f"edit {stray}")
    nvim.current.buffer[:] = ["export const x = 1;"]
    nvim.command("write")
    lua(nvim, "vim.wait(300)")
    assert events(nvim, "HotReloadPre") == [], describe(nvim)


def test_a_luax_program_through_nvim_dap_stops_steps_and_inspects_at_luax_lines(luanext_on_path, nvim, tmp_path):
    ticker = copy_fixture("luax_ticker", tmp_path)
    main, counter = ticker / "main.luax", ticker / "counter.luax"
    lua(nvim, "package.loaded.dap = dofile(...); require('hotreload').setup({})", str(STANDIN))
    nvim.command("filetype on")
    nvim.command(f"edit {main}")
    assert lua(nvim, "return vim.bo.filetype") == "luanext"
    # `print(counter.step())` on main.luax:10.
    lua(nvim, "require('dap').breakpoints[...] = { 10 }", str(main))
    lua(nvim, "local dap = require('dap'); dap.run(dap.configurations[vim.bo.filetype][1])")
    wait_until(nvim, "(function() local s = require('dap').session(); return s and s.current_frame end)()",
               timeout=60, what="the stop at main.luax:10")
    frame = lua(nvim, "local f = require('dap').session().current_frame; return { f.source.path, f.line }")
    assert frame == [str(main), 10], (frame, describe(nvim))
    lua(nvim, "local s = require('dap').session(); s:request('stepIn', { threadId = s.stopped_thread_id })")
    wait_until(nvim, "(function() local f = require('dap').session().current_frame; "
                     "return f and f.line == 8 end)()", what="the step into counter.luax:8")
    frame = lua(nvim, "local f = require('dap').session().current_frame; return { f.source.path, f.line }")
    assert frame == [str(counter), 8], (frame, describe(nvim))
    wait_until(nvim, "(function() local f = require('dap').session().current_frame; "
                     "return f.scopes and f.scopes[2] and f.scopes[2].variables end)()", what="the upvalues")
    upvalues = lua(nvim, """
        local out = {}
        for _, v in ipairs(require('dap').session().current_frame.scopes[2].variables) do out[v.name] = v.value end
        return out
    """)
    assert upvalues.get("count") == "0", upvalues

    # Reloaded while stopped inside counter.step: the running call finishes
    # with its old code (the warning names its .luax definition line), the next
    # call runs the new code with the count kept.
    counter.write_text(counter.read_text().replace('"v1 count="', '"v2 count="'))
    nvim.command(f"HotReload {counter}")
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadPost' end, _G.test_events) > 0",
               what="the reload")
    lua(nvim, """
        local s = require('dap').session()
        s:request('setBreakpoints', { source = { path = ... }, breakpoints = {} }, function()
          s:request('continue', { threadId = s.stopped_thread_id })
        end)
    """, str(main))
    wait_until(nvim, repl_has("^v2 count=2"), timeout=30, what="the new code counting on")
    lines = lua(nvim, "return require('dap').repl.lines()")
    assert counts(lines, "v1") == [1], lines
    warnings = events(nvim, "HotReloadPost")[0]["data"]["warnings"]
    assert warnings and f"({counter}:7)" in warnings[0]["message"], warnings
    lua(nvim, "require('dap').terminate()")


def test_nvim_dap_waits_longer_for_a_launch_that_compiles(nvim):
    """nvim-dap warns "Debug adapter didn't respond" when `launch` takes
    over 4 s; compiling a TypeScript project first can (seen with the real
    nvim-dap on this machine)."""
    got = lua(nvim, """
        local dap = require('hotreload.dap')
        local adapters = {}
        for _, config in ipairs({
          { program = '/p/main.ts', sourceMaps = true },
          { program = '/p/main.luax' },
          { program = '/p/main.lua' },
        }) do
          dap.adapter(function(adapter) adapters[#adapters + 1] = adapter end, config)
        end
        vim.wait(10000, function() return #adapters == 3 end)
        return vim.tbl_map(function(a) return a.options or vim.NIL end, adapters)
    """)
    timeout = lua(nvim, "return require('hotreload.dap').compile_timeout_sec")
    assert got[:2] == [{"initialize_timeout_sec": timeout}] * 2 and got[2] is None, got
