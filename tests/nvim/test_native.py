"""The native module: its server on a private socket, the version check,
and the nvim-dap adapter factory yielding a pipe a DAP client can use."""

import os
import stat
import time
from pathlib import Path

from conftest import DapClient, lua, private

START = "return require('hotreload.native').start_server()"

FAKE_DAP = """
package.loaded.dap = {
  adapters = {},
  configurations = { lua = { { name = 'mine', type = 'x', request = 'launch' } } },
  listeners = { after = {}, before = {} },
  session = function() return nil end,
  sessions = function() return {} end,
}
require('hotreload').setup({})
"""


def test_server_listens_on_a_socket_only_the_user_can_open(nvim, env):
    info = lua(nvim, START)
    pipe = Path(info["pipe"])
    assert pipe.parent == env / "run" / "hotreload", pipe
    assert stat.S_ISSOCK(pipe.stat().st_mode)
    assert private(pipe.parent), oct(pipe.parent.stat().st_mode)
    assert private(pipe), oct(pipe.stat().st_mode)
    assert lua(nvim, START) == info, "a second start must reuse the running server"


def test_stop_removes_the_socket_and_a_new_start_gets_a_new_one(nvim):
    first = lua(nvim, START)["pipe"]
    assert lua(nvim, "return require('hotreload.native').stop_server()") is True
    deadline = time.monotonic() + 5
    while os.path.exists(first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(first), "socket left behind after stop"
    assert lua(nvim, "return require('hotreload.native').server_info()") is None
    second = lua(nvim, START)["pipe"]
    assert second != first and os.path.exists(second)


def test_a_socket_dir_others_can_open_is_refused(nvim, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    lua(nvim, "require('hotreload').setup({ socket_dir = ... })", str(shared))
    result = lua(nvim, "local ok, err = pcall(require('hotreload.native').start_server); return { ok, err }")
    assert result[0] is False
    assert "not private" in result[1] and "chmod 700" in result[1], result[1]


def test_server_counts_connected_clients(nvim):
    pipe = lua(nvim, START)["pipe"]
    client = DapClient(pipe)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if lua(nvim, "return require('hotreload.native').server_info().connections") == 1:
                break
            time.sleep(0.05)
        assert lua(nvim, "return require('hotreload.native').server_info().connections") == 1
    finally:
        client.close()


def test_a_stale_native_module_says_how_to_rebuild(nvim):
    result = lua(
        nvim,
        """
        package.loaded.hotreload_native = { version = function() return '0.0.0-old' end }
        local ok, err = pcall(require('hotreload.native').start_server)
        return { ok, err }
        """,
    )
    assert result[0] is False
    assert "0.0.0-old" in result[1] and ":Lazy build hotreload.nvim" in result[1], result[1]
    nvim.command("HotReload run")  # must report, not crash
    assert lua(nvim, "return vim.fn.getpid() > 0")


def test_a_native_module_that_could_not_set_itself_up_says_why(nvim):
    # What `luaopen_hotreload_native` returns when it finds no main thread.
    result = lua(
        nvim,
        """
        package.loaded.hotreload_native = { error = "hotreload_native: cannot find Neovim's main Lua thread: x" }
        local ok, err = pcall(require('hotreload.native').start_server)
        return { ok, err, package.loaded.hotreload_native == nil }
        """,
    )
    assert result[0] is False
    assert "cannot find Neovim's main Lua thread: x" in result[1], result[1]
    assert result[2] is True, "the broken module must not stay cached"
    nvim.command("HotReload run")  # must report, not crash
    assert lua(nvim, "return vim.fn.getpid() > 0")


def test_native_version_equals_the_lua_glue(nvim):
    assert lua(nvim, "return require('hotreload_native').version()") == lua(
        nvim, "return require('hotreload.version')"
    )


def test_native_errors_are_values_not_crashes(nvim):
    result = lua(
        nvim,
        """
        local m = require('hotreload_native')
        return { m.start_server(42), m.start_server({ socket_dir = 5 }), m.start_server({ on_message = 'x' }) }
        """,
    )
    assert "opts" in result[0]["error"], result
    assert "socket_dir" in result[1]["error"], result
    assert "on_message" in result[2]["error"], result


def test_reload_summary_takes_lua_bodies_and_refuses_bad_ones_as_values(nvim):
    result = lua(
        nvim,
        """
        local m = require('hotreload_native')
        return {
          m.reload_summary({ module = 'a.b', changed = { 'f' }, added = {}, durationMs = 2 }),
          m.reload_summary({ path = '/x/m.lua' }),
          m.reload_summary({ changed = { 1 } }),
          m.reload_summary(42),
          m.reload_summary({ durationMs = 'slow' }),
        }
        """,
    )
    assert result[0].startswith("a.b: 1 changed, 0 added, 0 removed (") and "f" in result[0], result
    assert result[1].startswith("/x/m.lua: 0 changed"), result
    assert "changed" in result[2]["error"], result
    assert "body" in result[3]["error"], result
    assert "durationMs" in result[4]["error"], result


def test_runtimes_and_socket_dir_refuse_bad_options_as_values(nvim, tmp_path):
    result = lua(
        nvim,
        """
        local m = require('hotreload_native')
        return { m.runtimes(42), m.runtimes({ host_dir = '' }), m.socket_dir({ socket_dir = 5 }),
                 m.socket_dir({ socket_dir = ... }) }
        """,
        str(tmp_path / "missing"),
    )
    assert "opts" in result[0]["error"], result
    assert "host_dir" in result[1]["error"], result
    assert "socket_dir" in result[2]["error"], result
    # Asking about a directory creates nothing.
    assert result[3] == {"path": str(tmp_path / "missing"), "exists": False}, result
    assert not (tmp_path / "missing").exists()


def test_nvim_dap_gets_an_adapter_factory_and_configurations(nvim):
    lua(nvim, FAKE_DAP)
    kind = lua(nvim, "return type(package.loaded.dap.adapters.hotreload)")
    assert kind == "function"
    names = lua(nvim, "return vim.tbl_map(function(c) return c.name end, package.loaded.dap.configurations.lua)")
    assert names[0] == "mine", "existing configurations must be kept"
    assert "Launch file (hot reload)" in names
    assert "Launch file with arguments (hot reload)" in names
    assert "Launch file, pick a runtime (hot reload)" in names
    attach = lua(
        nvim,
        "for _, c in ipairs(package.loaded.dap.configurations.lua) do "
        "if c.name == 'Attach to a program (hot reload)' then return c.request end end",
    )
    assert attach == "attach", names
    luanext = lua(
        nvim,
        """
        return vim.tbl_map(function(c)
          local r = c.runtime()
          return type(r) == 'thread' and 'asks' or r
        end, package.loaded.dap.configurations.luanext)
        """,
    )
    assert luanext == ["luanext", "luanext", "asks"], luanext
    listener = lua(nvim, "return type(package.loaded.dap.listeners.after.event_hotReloaded.hotreload)")
    assert listener == "function"
    lua(nvim, "require('hotreload').setup({})")
    again = lua(nvim, "return #package.loaded.dap.configurations.lua")
    assert again == len(names), "setup twice must not duplicate configurations"


def test_the_adapter_factory_yields_a_pipe_that_speaks_dap(nvim):
    lua(nvim, FAKE_DAP)
    adapter = lua(
        nvim,
        """
        local got
        package.loaded.dap.adapters.hotreload(function(a) got = a end, { type = 'hotreload' })
        return got
        """,
    )
    assert adapter["type"] == "pipe", adapter
    client = DapClient(adapter["pipe"])
    try:
        response = client.request("initialize", {"adapterID": "hotreload", "clientID": "test"})
        assert response["success"] is True, client.received
        assert response["body"]["supportsConfigurationDoneRequest"] is True, response
        unknown = client.request("frobnicate")
        assert unknown["success"] is False and "frobnicate" in unknown.get("message", ""), unknown
    finally:
        client.close()


def test_quitting_neovim_removes_the_socket(nvim):
    pipe = lua(nvim, START)["pipe"]
    assert os.path.exists(pipe)
    try:
        nvim.command("qa!")
    except Exception:
        pass  # the connection ends with Neovim
    deadline = time.monotonic() + 5
    while os.path.exists(pipe) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(pipe), "socket left behind after :qa"


def test_the_pick_a_runtime_configuration_asks_with_vim_ui_select(nvim):
    lua(nvim, FAKE_DAP)
    picked = lua(
        nvim,
        """
        vim.ui.select = function(items, opts, on_choice)
          _G.test_offered = items
          on_choice(items[#items])
        end
        local cfg
        for _, c in ipairs(package.loaded.dap.configurations.lua) do
          if c.name == 'Launch file, pick a runtime (hot reload)' then cfg = c end
        end
        -- What nvim-dap does with a thread: resume it (scheduled) with its
        -- own coroutine, then yield until the thread resumes that with a value.
        local result
        local runner = coroutine.create(function()
          local thread = cfg.runtime()
          local co = coroutine.running()
          vim.schedule(function() coroutine.resume(thread, co) end)
          result = coroutine.yield()
        end)
        coroutine.resume(runner)
        vim.wait(1000, function() return result ~= nil end)
        return { result = result, offered = _G.test_offered }
        """,
    )
    installed = lua(nvim, "return require('hotreload.native').runtimes()")
    installed = [r["name"] for r in installed if not r.get("unavailable")]
    assert picked["offered"] == installed and "lua5.4" in installed, picked
    assert picked["result"] == installed[-1], picked
