"""setup(): options are validated per dotted key and errors name the key."""

import pytest

from conftest import lua

SETUP = "local ok, err = pcall(require('hotreload').setup, ...); return { ok = ok, err = err }"


@pytest.mark.parametrize(
    "opts, key",
    [
        ({"reload_on_save": "yes"}, "reload_on_save"),
        ({"debounce_ms": -5}, "debounce_ms"),
        ({"debounce_ms": 1.5}, "debounce_ms"),
        ({"runtime": 5}, "runtime"),
        ({"host_dir": 3}, "host_dir"),
        ({"socket_dir": True}, "socket_dir"),
        ({"log_file": 1}, "log_file"),
        ({"notify": "no"}, "notify"),
        ({"diagnostics": 0}, "diagnostics"),
        ({"output": "below"}, "output"),
        ({"output": {"split": "middle"}}, "output.split"),
        ({"output": {"height": 0}}, "output.height"),
        ({"output": {"max_lines": "many"}}, "output.max_lines"),
        ({"dap": {"register": "yes"}}, "dap.register"),
        ({"dap": {"regsiter": True}}, "dap.regsiter"),
        ({"reload_on_sav": True}, "reload_on_sav"),
    ],
)
def test_a_bad_option_is_named_in_the_error(nvim, opts, key):
    result = lua(nvim, SETUP, opts)
    assert result["ok"] is False, f"setup({opts}) was accepted"
    err = result["err"]
    assert err.startswith("(hotreload) "), err
    assert f" {key}:" in err, f"error does not name {key}: {err}"


def test_a_runtime_without_a_host_in_this_release_is_an_error_in_health(nvim):
    listed = lua(nvim, "return require('hotreload.native').runtimes()")
    names = [r["name"] for r in listed]
    assert names[0] == "lua5.4" and "luajit" in names, listed
    not_built = [r for r in listed if not r.get("host")]
    assert not_built, listed
    for runtime in not_built + [{"name": "lua9", "unavailable": "is unknown"}]:
        # setup() accepts any name: it must not load the native module.
        assert lua(nvim, SETUP, {"runtime": runtime["name"]})["ok"], runtime
        nvim.command("checkhealth hotreload")
        report = "\n".join(nvim.current.buffer[:])
        line = next((l for l in report.splitlines() if "(setup)" in l), "")
        assert "ERROR" in line and runtime["unavailable"] in line, report
    # A runtime with a host is no error.
    assert lua(nvim, SETUP, {"runtime": "lua5.4"})["ok"]
    nvim.command("checkhealth hotreload")
    assert "(setup)" not in "\n".join(nvim.current.buffer[:])


def test_a_runtime_whose_host_is_not_built_yet_is_listed_with_where_it_would_be(nvim, tmp_path):
    listed = lua(nvim, "return require('hotreload.native').runtimes(...)", str(tmp_path))
    lua53 = next(r for r in listed if r["name"] == "lua5.3")
    assert lua53["host"] == str(tmp_path / "hotreload-host-lua53"), lua53
    assert lua53["unavailable"], lua53


def test_good_options_are_merged_over_the_defaults(nvim):
    result = lua(nvim, SETUP, {"reload_on_save": True, "output": {"height": 5}})
    assert result["ok"], result
    opts = lua(nvim, "return require('hotreload.config').options")
    assert opts["reload_on_save"] is True
    assert opts["output"]["height"] == 5
    assert opts["output"]["split"] == "below", "a nested default was lost by merging"
    assert opts["debounce_ms"] == 150


def test_setup_is_optional(nvim):
    opts = lua(nvim, "return require('hotreload.config').options")
    assert opts["runtime"] == "lua5.4"
    assert opts["reload_on_save"] is False


def test_setup_with_reload_on_save_creates_the_autocmd(nvim):
    lua(nvim, "require('hotreload').setup({ reload_on_save = true })")
    cmds = lua(
        nvim,
        """
        return vim.tbl_map(function(c) return { event = c.event, pattern = c.pattern } end,
          vim.api.nvim_get_autocmds({ group = 'hotreload.autosave' }))
        """,
    )
    assert {c["event"] for c in cmds} == {"BufWritePost"}, cmds
    assert {c["pattern"] for c in cmds} == {"*.lua", "*.luax", "*.ts", "*.tsx"}, cmds
