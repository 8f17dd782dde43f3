"""`:checkhealth hotreload` reports each part, with a fix for each problem."""

import os

from conftest import lua


def checkhealth(nv) -> str:
    nv.command("checkhealth hotreload")
    return "\n".join(nv.current.buffer[:])


def test_health_reports_every_part(nvim):
    report = checkhealth(nvim)
    for section in ("Neovim", "native module", "host binaries", "nvim-dap", "socket directory"):
        assert f"hotreload: {section}" in report, report
    assert "matches the Lua glue" in report, report
    assert "reloads of Neovim modules swap code in place (layout check passed)" in report, report
    assert "nvim-dap is not installed" in report, report
    assert "will be created with mode 0700" in report, report


def test_health_says_why_neovim_modules_reload_without_the_swap(nvim):
    lua(nvim, "vim.env.HOTRELOAD_LUAJIT_STOCK = 'off'")
    report = checkhealth(nvim)
    assert "reloads of Neovim modules use the pure-Lua walk" in report, report
    assert "HOTRELOAD_LUAJIT_STOCK=off" in report, report


def test_health_shows_each_host_version(nvim):
    report = checkhealth(nvim)
    hosts = (("lua5.4", "Lua 5.4"), ("lua5.3", "Lua 5.3"), ("lua5.2", "Lua 5.2"), ("lua5.1", "Lua 5.1"))
    for runtime, release in hosts:
        line = next((l for l in report.splitlines() if f"{runtime}: hotreload-host" in l), None)
        assert line is not None, report
        assert "OK" in line and release in line, report
    # Every host has the native reload backend: none is said to lack it.
    assert "reloads by swapping prototypes in place" not in report, report
    listed = lua(nvim, "return require('hotreload.native').runtimes()")
    for runtime in (r for r in listed if not r.get("host")):
        assert f"{runtime['name']}: not in this release ({runtime['unavailable']})" in report, report


def test_health_names_the_fix_for_a_missing_host_and_an_open_socket_dir(nvim, tmp_path):
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    lua(nvim, "local h, s = ...; require('hotreload').setup({ host_dir = h, socket_dir = s })",
        str(tmp_path / "nothing"), str(open_dir))
    report = checkhealth(nvim)
    assert "hotreload-host-lua54 not found" in report, report
    assert ":Lazy build hotreload.nvim" in report, report
    problem = lua(nvim, "return require('hotreload.native').socket_dir().problem")
    assert problem and str(open_dir) in problem, problem
    assert f"ERROR {problem}" in report, report


def test_health_reports_a_stale_native_module(nvim):
    lua(nvim, "package.loaded.hotreload_native = { version = function() return '0.0.0-old' end }")
    report = checkhealth(nvim)
    assert "0.0.0-old" in report and ":Lazy build hotreload.nvim" in report, report


def test_health_sees_nvim_dap_and_the_adapter(nvim):
    lua(
        nvim,
        """
        package.preload.dap = function()
          return { adapters = {}, configurations = {}, listeners = { after = {}, before = {} } }
        end
        require('hotreload').setup({})
        """,
    )
    report = checkhealth(nvim)
    assert "adapter `hotreload` registered" in report, report
