"""The plugin file, :HotReload subcommands and completion, <Plug> mappings,
and that loading the plugin loads nothing else (its time is measured by
bench/startup/run.py, not asserted here: shared machines are noisy)."""

from conftest import REPO, lua


def notes(nv):
    return lua(nv, "return _G.test_notes")


def last_note(nv):
    got = notes(nv)
    assert got, "no notification"
    return got[-1]


def test_startup_loads_nothing_heavy(nvim):
    loaded = lua(
        nvim,
        """
        local names = {}
        for name in pairs(package.loaded) do
          if name:match('^hotreload') or name == 'dap' then names[#names + 1] = name end
        end
        return names
        """,
    )
    assert loaded == [], f"loaded at startup: {loaded}"
    assert lua(nvim, "return vim.fn.exists(':HotReload')") == 2


def test_plug_mappings_exist_and_no_default_keymaps(nvim):
    for plug in ("<Plug>(HotReload)", "<Plug>(HotReloadToggleAuto)"):
        info = lua(nvim, "local m = vim.fn.maparg(..., 'n', false, true); m.callback = nil; return m", plug)
        assert info.get("desc", "").startswith("hotreload:"), f"{plug}: {info}"
    bound = lua(
        nvim,
        """
        local found = {}
        for _, mode in ipairs({ 'n', 'v', 'x', 'i', 'o' }) do
          for _, m in ipairs(vim.api.nvim_get_keymap(mode)) do
            local ours = (m.rhs or ''):find('HotReload') or (m.desc or ''):find('hotreload')
            if ours and not m.lhs:find('<Plug>') then
              found[#found + 1] = mode .. ' ' .. m.lhs
            end
          end
        end
        return found
        """,
    )
    assert bound == [], f"default keymaps: {bound}"


def test_plug_toggle_auto_toggles_reload_on_save(nvim):
    nvim.feedkeys(nvim.replace_termcodes("<Plug>(HotReloadToggleAuto)"), "mx", False)
    assert lua(nvim, "return require('hotreload').status().auto") is True
    nvim.feedkeys(nvim.replace_termcodes("<Plug>(HotReloadToggleAuto)"), "mx", False)
    assert lua(nvim, "return require('hotreload').status().auto") is False


def test_completion_lists_subcommands_then_their_arguments(nvim):
    first = lua(nvim, "return vim.fn.getcompletion('HotReload ', 'cmdline')")
    for sub in ("run", "stop", "status", "auto"):
        assert sub in first, first
    assert lua(nvim, "return vim.fn.getcompletion('HotReload st', 'cmdline')") == ["status", "stop"]
    assert lua(nvim, "return vim.fn.getcompletion('HotReload auto ', 'cmdline')") == ["on", "off"]
    nvim.command(f"cd {REPO}/tests/nvim/fixtures")
    files = lua(nvim, "return vim.fn.getcompletion('HotReload run he', 'cmdline')")
    assert files == ["hello.lua"], files


def test_status_with_nothing_running(nvim):
    nvim.command("HotReload status")
    note = last_note(nvim)
    assert "running: nothing" in note["msg"], note
    assert "reload on save: off" in note["msg"], note
    status = lua(nvim, "return require('hotreload').status()")
    assert status["running"] is False and status["text"] == "", status


def test_auto_on_off_and_a_bad_argument(nvim):
    nvim.command("HotReload auto on")
    assert "reload on save on" in last_note(nvim)["msg"]
    # One per pattern: *.lua, *.luax, *.ts, *.tsx.
    assert lua(nvim, "return #vim.api.nvim_get_autocmds({ group = 'hotreload.autosave' })") == 4
    nvim.command("HotReload auto off")
    assert "reload on save off" in last_note(nvim)["msg"]
    assert lua(nvim, "return #vim.api.nvim_get_autocmds({ group = 'hotreload.autosave' })") == 0
    nvim.command("HotReload auto")
    assert lua(nvim, "return require('hotreload').status().auto") is True
    nvim.command("HotReload auto maybe")
    note = last_note(nvim)
    assert note["level"] == 4 and "on or off" in note["msg"], note


def test_stop_with_nothing_running_warns(nvim):
    nvim.command("HotReload stop")
    note = last_note(nvim)
    assert note["level"] == 3 and "no program" in note["msg"], note


def test_reload_with_nothing_running_says_how_to_start(nvim):
    nvim.command(f"edit {REPO}/tests/nvim/fixtures/hello.lua")
    nvim.command("HotReload")
    note = last_note(nvim)
    assert note["level"] == 3 and ":HotReload run" in note["msg"], note
    nvim.command(f"HotReload {REPO}/tests/nvim/fixtures/hello.lua")
    assert ":HotReload run" in last_note(nvim)["msg"]


def test_unknown_subcommand_with_extra_words_is_an_error(nvim):
    nvim.command("HotReload frobnicate now")
    note = last_note(nvim)
    assert note["level"] == 4 and "frobnicate" in note["msg"], note


def test_run_a_missing_file_reports_it(nvim, tmp_path):
    nvim.command(f"HotReload run {tmp_path}/nope.lua")
    note = last_note(nvim)
    assert note["level"] == 4 and "nope.lua" in note["msg"], note


