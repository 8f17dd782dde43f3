"""`:HotReload` of Neovim's own Lua modules when no program runs: the engine
runs inside Neovim (LuaJIT) on the fixture plugin tests/nvim/fixtures/nvimplug
(myplug, myplug.util), copied per test and put on 'runtimepath'."""

from pathlib import Path

import pytest

from conftest import copy_fixture, describe, lua, wait_until


@pytest.fixture
def plug(nvim, tmp_path):
    """The fixture plugin on 'runtimepath', required and set up (v1)."""
    root = copy_fixture("nvimplug", tmp_path)
    nvim.command(f"set rtp^={root}")
    lua(nvim, "require('myplug').setup()")
    return root / "lua" / "myplug"


def events(nv, pattern: str):
    return [e for e in lua(nv, "return _G.test_events") if e["pattern"] == pattern]


def edit(nv, path: Path, old: str, new: str):
    """Replaces `old` by `new` in `path`'s buffer, unsaved."""
    if lua(nv, "return vim.fn.bufnr(...) ~= vim.fn.bufnr()", str(path)):
        nv.command(f"edit {path}")
    lines = nv.current.buffer[:]
    text = "\n".join(lines)
    assert old in text, f"{old!r} not in {path}"
    nv.current.buffer[:] = text.replace(old, new).split("\n")


def line_of(nv, needle: str) -> int:
    for n, line in enumerate(nv.current.buffer[:], 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in the buffer")


def greet(nv) -> str:
    nv.command("MyPlugGreet")
    return lua(nv, "return _G.myplug_last")


def test_callbacks_run_the_new_code_and_state_is_kept(nvim, plug):
    assert greet(nvim) == "hello v1 #1"
    lua(nvim, "vim.api.nvim_exec_autocmds('User', { pattern = 'MyPlugPing' })")
    assert lua(nvim, "return _G.myplug_last") == "event v1"
    lua(nvim, "require('myplug').state.extra = 'kept'")
    edit(nvim, plug / "init.lua", "v1", "v2")
    nvim.command("HotReload")
    post = events(nvim, "HotReloadPost")
    assert len(post) == 1, describe(nvim)
    assert post[0]["data"]["module"] == "myplug"
    assert post[0]["data"]["path"] == str(plug / "init.lua")
    assert post[0]["data"]["changed"] == ["myplug.greet", "myplug.key", "myplug.on_event"], post
    # The user command's closure (v1's) calls the new greet; the counter
    # upvalue carried on.
    assert greet(nvim) == "hello v2 #2", describe(nvim)
    # The autocmd and the keymap hold the v1 functions themselves.
    lua(nvim, "vim.api.nvim_exec_autocmds('User', { pattern = 'MyPlugPing' })")
    assert lua(nvim, "return _G.myplug_last") == "event v2"
    nvim.feedkeys(nvim.replace_termcodes("<Plug>(MyPlugKey)"), "mx", False)
    assert lua(nvim, "return _G.myplug_last") == "key v2"
    state = lua(nvim, "return require('myplug').state")
    assert state == {"hits": 2, "extra": "kept"}, state
    notes = lua(nvim, "return _G.test_notes")
    summary = lua(nvim, "return require('hotreload_native').reload_summary(...)", post[0]["data"])
    assert [n["msg"] for n in notes] == [summary], notes
    status = lua(nvim, "return require('hotreload').status()")
    assert status["nvim"]["reloads"] == 1 and status["nvim"]["last"] == "myplug", status
    nvim.command("HotReload status")
    assert "neovim modules: 1 reload, last myplug" in lua(nvim, "return _G.test_notes")[-1]["msg"]
    # Again: the second reload starts from what the first one left.
    edit(nvim, plug / "init.lua", "v2", "v3")
    nvim.command("HotReload")
    assert len(events(nvim, "HotReloadPost")) == 2, describe(nvim)
    assert greet(nvim) == "hello v3 #3"
    nvim.feedkeys(nvim.replace_termcodes("<Plug>(MyPlugKey)"), "mx", False)
    assert lua(nvim, "return _G.myplug_last") == "key v3"


def test_an_alias_held_by_another_module_gets_the_new_code(nvim, plug):
    assert lua(nvim, "return require('myplug').shout('hi')") == "HI!"
    edit(nvim, plug / "util.lua", "return s:upper() .. '!'", "return s:upper() .. '!!'")
    lua(nvim, "require('hotreload').reload()")
    assert events(nvim, "HotReloadPost"), describe(nvim)
    assert lua(nvim, "return require('myplug').shout('hi')") == "HI!!"
    assert lua(nvim, "return require('myplug.util').shout('a')") == "A!!"


def test_plug_mapping_reloads_into_neovim(nvim, plug):
    edit(nvim, plug / "init.lua", "hello v1", "hello v3")
    nvim.feedkeys(nvim.replace_termcodes("<Plug>(HotReload)"), "mx", False)
    assert events(nvim, "HotReloadPost"), describe(nvim)
    assert greet(nvim) == "hello v3 #1"


def assert_failed_at(nv, path: Path, line: int):
    failed = events(nv, "HotReloadFailed")
    assert len(failed) == 1, describe(nv)
    data = failed[0]["data"]
    assert data["file"] == str(path) and data["line"] == line, data
    assert not events(nv, "HotReloadPost")
    qf = lua(nv, "return vim.fn.getqflist({ title = 0, items = 0 })")
    assert qf["title"] == "hotreload" and qf["items"][0]["lnum"] == line, qf
    diags = lua(nv, "return vim.diagnostic.get(vim.fn.bufnr(...), { namespace = require('hotreload.report').ns })",
                str(path))
    assert [d["lnum"] for d in diags] == [line - 1], diags


def test_a_syntax_error_changes_nothing_and_points_at_the_line(nvim, plug):
    assert greet(nvim) == "hello v1 #1"
    edit(nvim, plug / "init.lua", "return 'hello v1 #' .. calls", "return 'hello v2 #' .. calls ..")
    bad = line_of(nvim, "hello v2")
    nvim.command("HotReload")
    # A truncated expression is reported where Lua sees it: the next token.
    assert_failed_at(nvim, plug / "init.lua", bad + 1)
    assert greet(nvim) == "hello v1 #2"


def test_a_runtime_error_in_the_top_level_changes_nothing(nvim, plug):
    assert greet(nvim) == "hello v1 #1"
    edit(nvim, plug / "init.lua", "\nreturn M", "\nM.state = { hits = 100 }\nerror('boom')\nreturn M")
    bad = line_of(nvim, "error('boom')")
    edit(nvim, plug / "init.lua", "hello v1", "hello v2")
    nvim.command("HotReload")
    assert_failed_at(nvim, plug / "init.lua", bad)
    assert events(nvim, "HotReloadFailed")[0]["data"]["kind"] == "runtime"
    assert greet(nvim) == "hello v1 #2"
    assert lua(nvim, "return require('myplug').state") == {"hits": 0}
    lua(nvim, "vim.api.nvim_exec_autocmds('User', { pattern = 'MyPlugPing' })")
    assert lua(nvim, "return _G.myplug_last") == "event v1"


def test_on_reload_gets_the_old_values(nvim, plug):
    lua(nvim, "require('myplug').state.hits = 7")
    edit(
        nvim,
        plug / "init.lua",
        "\nreturn M",
        "\nfunction M.__on_reload(old)\n  _G.myplug_reloaded = old.state.hits\nend\nreturn M",
    )
    nvim.command("HotReload")
    assert events(nvim, "HotReloadPost"), describe(nvim)
    assert lua(nvim, "return _G.myplug_reloaded") == 7


def test_global_writes_of_new_functions_reach_the_globals(nvim, plug):
    # LuaJIT has no _ENV: the new functions' environment must forward to _G.
    edit(nvim, plug / "init.lua", "_G.myplug_last = 'event v1'", "myplug_last = 'event v2'; MYPLUG_G = 1")
    nvim.command("HotReload")
    assert events(nvim, "HotReloadPost"), describe(nvim)
    lua(nvim, "vim.api.nvim_exec_autocmds('User', { pattern = 'MyPlugPing' })")
    assert lua(nvim, "return { rawget(_G, 'myplug_last'), rawget(_G, 'MYPLUG_G') }") == ["event v2", 1]


def refused(nv) -> str:
    notes = lua(nv, "return _G.test_notes")
    assert notes and notes[-1]["level"] == lua(nv, "return vim.log.levels.WARN"), describe(nv)
    assert not events(nv, "HotReloadPost") and not events(nv, "HotReloadFailed"), describe(nv)
    return notes[-1]["msg"]


def test_neovim_runtime_modules_are_refused(nvim, plug):
    shared = lua(nvim, "return vim.env.VIMRUNTIME") + "/lua/vim/shared.lua"
    nvim.command(f"HotReload {shared}")
    assert "Neovim's own runtime" in refused(nvim)
    # A `vim.*` module on another runtimepath entry is refused by its name.
    mine = plug.parent / "vim" / "mine.lua"
    mine.parent.mkdir()
    mine.write_text("return { x = 1 }\n")
    assert lua(nvim, "return require('vim.mine').x") == 1
    nvim.command(f"HotReload {mine}")
    assert "'vim.mine' is Neovim's own runtime module" in refused(nvim)


def test_files_that_are_no_loaded_neovim_module_are_refused(nvim, plug, tmp_path):
    loose = tmp_path / "loose.lua"
    loose.write_text("return {}\n")
    nvim.command(f"HotReload {loose}")
    assert "not a Lua module of Neovim" in refused(nvim)
    unloaded = plug / "later.lua"
    unloaded.write_text("return {}\n")
    nvim.command(f"HotReload {unloaded}")
    assert "module 'myplug.later' is not loaded in Neovim" in refused(nvim)


def test_saving_reloads_only_when_turned_on(nvim, plug):
    edit(nvim, plug / "init.lua", "hello v1", "hello v2")
    nvim.command("write")
    lua(nvim, "vim.wait(400)")
    assert not events(nvim, "HotReloadPost"), describe(nvim)
    lua(nvim, "require('hotreload').setup({ nvim = { reload_on_save = true } })")
    edit(nvim, plug / "init.lua", "hello v2", "hello v3")
    nvim.command("write")
    wait_until(nvim, "#vim.tbl_filter(function(e) return e.pattern == 'HotReloadPost' end, _G.test_events) > 0")
    assert greet(nvim) == "hello v3 #1"


def test_with_a_program_running_reloads_go_to_the_program(nvim, plug, tmp_path):
    ticker = copy_fixture("ticker", tmp_path)
    nvim.command(f"HotReload run {ticker / 'main.lua'}")
    wait_until(nvim, "require('hotreload').status().running", what="the program to start")
    edit(nvim, plug / "init.lua", "hello v1", "hello v2")
    nvim.command("HotReload")
    wait_until(nvim, "#_G.test_events > 1", what="the program's answer")
    failed = events(nvim, "HotReloadFailed")
    assert failed and failed[0]["data"]["kind"] == "notFound", describe(nvim)
    assert greet(nvim) == "hello v1 #1"
    assert not lua(nvim, "return package.loaded['hotreload.nvim_reload'] ~= nil")


def warnings_of_last_reload(nv):
    post = events(nv, "HotReloadPost")
    assert post, describe(nv)
    return post[-1]["data"]["warnings"]


def test_a_closure_made_inside_setup_runs_the_new_code(nvim, plug):
    """The in-place swap (Neovim's LuaJIT passed its layout check) gives the
    user command's callback, a closure setup() made, the new code; its
    upvalue (M) and the module's state carry on."""
    init = plug / "init.lua"
    assert greet(nvim) == "hello v1 #1"
    nvim.command(f"edit {init}")
    edit(nvim, init, "_G.myplug_last = M.greet()", "_G.myplug_last = 'inline ' .. M.greet()")
    nvim.command("HotReload")
    warnings = warnings_of_last_reload(nvim)
    assert not any(w["kind"] in ("nestedClosures", "unmatchedClosures", "upvalueLayout")
                   for w in warnings), warnings
    assert greet(nvim) == "inline hello v1 #2", describe(nvim)
    assert lua(nvim, "return require('hotreload.nvim_reload').stats.backend") == "swap"
    assert not [n for n in lua(nvim, "return _G.test_notes") if n["level"] >= 3], describe(nvim)
    # Twice: the second reload pairs the first one's code.
    edit(nvim, init, "'inline ' .. M.greet()", "'again ' .. M.greet()")
    nvim.command("HotReload")
    assert greet(nvim) == "again hello v1 #3", describe(nvim)


def test_an_inline_closure_whose_upvalues_change_is_named(nvim, plug):
    """A closure cannot take code with other upvalues in place: it keeps its
    code, and the warning says where it is."""
    init = plug / "init.lua"
    nvim.command(f"edit {init}")
    edit(nvim, init, "_G.myplug_last = M.greet()", "_G.myplug_last = M.greet() .. calls")
    nvim.command("HotReload")
    warnings = warnings_of_last_reload(nvim)
    line = line_of(nvim, "nvim_create_user_command('MyPlugGreet'")
    # Its upvalues differ, so it pairs with no new function (unnamed
    # closures pair only with ones that could run in their place).
    assert any(w["kind"] in ("upvalueLayout", "unmatchedClosures") and w["path"] == str(init)
               and w["line"] == line for w in warnings), warnings
    assert greet(nvim) == "hello v1 #1"


def test_without_the_swap_the_walk_reloads_and_names_inline_closures(nvim, plug):
    """The layout check failing (forced here) leaves the pure-Lua walk: one
    warning says why, reloads still work, and the closures setup() made are
    named as keeping their old code."""
    lua(nvim, "vim.env.HOTRELOAD_LUAJIT_STOCK = 'off'")
    init = plug / "init.lua"
    nvim.command(f"edit {init}")
    edit(nvim, init, "_G.myplug_last = M.greet()", "_G.myplug_last = 'inline ' .. M.greet()")
    edit(nvim, init, "'hello v1 #'", "'hello v2 #'")
    nvim.command("HotReload")
    notes = [n["msg"] for n in lua(nvim, "return _G.test_notes")]
    fallback = [n for n in notes if "HOTRELOAD_LUAJIT_STOCK=off" in n]
    assert len(fallback) == 1 and "pure-Lua walk" in fallback[0], notes
    assert lua(nvim, "return require('hotreload.nvim_reload').stats.backend") == "walker"
    warnings = warnings_of_last_reload(nvim)
    line = line_of(nvim, "nvim_create_user_command('MyPlugGreet'")
    assert any(w["kind"] == "nestedClosures" and w["path"] == str(init) and w["line"] == line
               and "myplug.setup" in w["message"] for w in warnings), warnings
    # The module's function has the new code; the command Neovim holds
    # still runs the old closure (said, not hidden).
    assert greet(nvim) == "hello v2 #1"
    edit(nvim, init, "'hello v2 #'", "'hello v3 #'")
    nvim.command("HotReload")
    notes = [n["msg"] for n in lua(nvim, "return _G.test_notes")]
    assert len([n for n in notes if "HOTRELOAD_LUAJIT_STOCK=off" in n]) == 1, notes
    assert greet(nvim) == "hello v3 #2"


def test_moved_lines_and_top_level_edits_raise_no_closure_warning(nvim, plug):
    init = plug / "init.lua"
    nvim.command(f"edit {init}")
    edit(nvim, init, "local M = {}\n", "local M = {}\n\n\n")  # moves every line
    edit(nvim, init, "'hello v1 #'", "'hello v2 #'")
    nvim.command("HotReload")
    warnings = warnings_of_last_reload(nvim)
    assert not any(w["kind"] == "nestedClosures" for w in warnings), warnings
    assert greet(nvim).startswith("hello v2")


def test_a_function_suspended_in_a_coroutine_finishes_with_its_old_code(nvim, plug):
    """A frame suspended in a coroutine would resume in the old bytecode: its
    closure is not swapped (rule 4: it keeps its old code until it returns),
    later calls run the new code, and nothing crashes."""
    co_file = plug / "co.lua"
    co_file.write_text(
        "local M = {}\n"
        "function M.work(tag)\n"
        "  local a = 'old-' .. tag\n"
        "  coroutine.yield(1)\n"
        "  return a .. '-done'\n"
        "end\n"
        "return M\n"
    )
    lua(nvim, "_G.co = coroutine.create(require('myplug.co').work); assert(coroutine.resume(_G.co, 'x'))")
    nvim.command(f"edit {co_file}")
    # New constants before the old ones: the old bytecode would read these.
    edit(nvim, co_file, "  local a = 'old-' .. tag\n",
         "  local pad = { 'p1', 'p2', 'p3' }\n  local a = 'new-' .. tag .. #pad\n")
    nvim.command("HotReload")
    assert events(nvim, "HotReloadPost"), describe(nvim)
    assert lua(nvim, "return { coroutine.resume(_G.co) }") == [True, "old-x-done"]
    fresh = "return { coroutine.resume(coroutine.create(require('myplug.co').work), 'y') }"
    assert lua(nvim, fresh) == [True, 1]
    assert lua(nvim, "local co = coroutine.create(require('myplug.co').work); coroutine.resume(co, 'z'); return { coroutine.resume(co) }") == [True, "new-z3-done"]


def test_a_callback_made_by_the_first_top_level_is_named(nvim, plug):
    """The top level Neovim first ran is gone: an autocmd callback it made
    cannot be paired with the new version's; when its code changed, the
    warning names it. (A keymap the new top level sets again replaces it.)"""
    top = plug / "top.lua"
    top.write_text(
        "local M = {}\n"
        "vim.api.nvim_create_autocmd('User', {\n"
        "  pattern = 'TopPing',\n"
        "  callback = function() _G.top_last = 'top v1' end,\n"
        "})\n"
        "vim.keymap.set('n', '<Plug>(TopKey)', function() _G.top_key = 'key v1' end)\n"
        "function M.f() return 1 end\n"
        "return M\n"
    )
    lua(nvim, "require('myplug.top')")
    nvim.command(f"edit {top}")
    edit(nvim, top, "'top v1'", "'top v2'")
    edit(nvim, top, "'key v1'", "'key v2'")
    nvim.command("HotReload")
    warnings = warnings_of_last_reload(nvim)
    named = [w for w in warnings if w["kind"] == "topLevelClosures"]
    assert len(named) == 1 and named[0]["line"] == 4 and "top.lua:4" in named[0]["message"], warnings
    nvim.feedkeys(nvim.replace_termcodes("<Plug>(TopKey)"), "mx", False)
    assert lua(nvim, "return _G.top_key") == "key v2"
    # Again: the first top level's callback is still old (named once more);
    # the one the last reload's top level made was paired and is new.
    edit(nvim, top, "return 1", "return 2")
    nvim.command("HotReload")
    assert lua(nvim, "return require('myplug.top').f()") == 2
    again = [w for w in warnings_of_last_reload(nvim) if w["kind"] == "topLevelClosures"]
    assert len(again) == 1 and again[0]["message"].startswith("1 closure(s)"), again
