"""Reloads routed to an nvim-dap session of type `hotreload`, and how their
results are reported. nvim-dap is not installable here, so a stand-in
`dap` module with one session answers `hotReload` as our adapter would."""

from pathlib import Path

from conftest import lua

FAKE = """
local program, answer = ...
_G.test_requests = {}
local session = {
  config = { type = 'hotreload', request = 'launch', program = program },
  request = function(self, command, args, cb)
    table.insert(_G.test_requests, { command = command, args = args })
    -- As nvim-dap passes a failed response: its message and its body.
    if answer.err then
      cb({ message = answer.err.message, body = { error = answer.err.error } }, nil)
    else
      cb(nil, answer.body)
    end
  end,
}
package.loaded.dap = {
  adapters = {}, configurations = {}, listeners = { after = {}, before = {} },
  session = function() return session end,
  sessions = function() return { [1] = session } end,
}
require('hotreload').setup({ reload_on_save = true, debounce_ms = 10 })
"""

BODY = {
    "module": "game.player",
    "changed": ["update", "draw", "Player.move"],
    "added": ["jump"],
    "removed": [],
    "warnings": [],
    "durationMs": 1.5,
}


def failure(message, kind, path=None, line=None, reason=None):
    """A failed response as the session answers it: `message` and
    `body.error` (DAP's ErrorResponse, variables as strings)."""
    variables = {"kind": kind}
    if path is not None:
        variables["path"] = path
    if line is not None:
        variables["line"] = str(line)
    if reason is not None:
        variables["reason"] = reason
    return {"message": message,
            "error": {"id": 1000, "format": message, "variables": variables, "showUser": True}}


def program(tmp_path: Path):
    game = tmp_path / "game"
    game.mkdir()
    (tmp_path / "main.lua").write_text("require('game.player')\n")
    player = game / "player.lua"
    player.write_text("local M = {}\nfunction M.update() end\nreturn M\n")
    return tmp_path / "main.lua", player


def test_reload_goes_to_the_dap_session_and_reports_success(nvim, tmp_path):
    main, player = program(tmp_path)
    lua(nvim, FAKE, str(main), {"body": dict(BODY, path=str(player))})
    nvim.command(f"cd {tmp_path}")
    nvim.command(f"edit {player}")
    nvim.command("HotReload")
    reqs = lua(nvim, "return _G.test_requests")
    assert reqs == [{"command": "hotReload", "args": {"path": str(player)}}], reqs
    notes = [n["msg"] for n in lua(nvim, "return _G.test_notes")]
    # The notification is the session's summary (the DAP console's wording).
    summary = lua(nvim, "return require('hotreload_native').reload_summary(...)", dict(BODY, path=str(player)))
    assert summary in notes and "Player.move" in summary, (summary, notes)
    events = lua(nvim, "return _G.test_events")
    assert [e["pattern"] for e in events] == ["HotReloadPre", "HotReloadPost"], events
    assert events[0]["data"] == {"path": str(player)}
    assert events[1]["data"]["module"] == "game.player"
    assert events[1]["data"]["changed"] == BODY["changed"]
    status = lua(nvim, "return require('hotreload').status()")
    assert status["kind"] == "dap" and status["program"] == str(main), status
    assert status["text"].startswith("HR main.lua"), status


def test_a_failed_reload_sets_a_diagnostic_and_quickfix_and_success_clears_them(nvim, tmp_path):
    main, player = program(tmp_path)
    message = f"{player}:2: '=' expected near 'update'"
    lua(nvim, FAKE, str(main), {"err": failure(message, kind="compile", path=str(player), line=2,
                                               reason="'=' expected near 'update'")})
    nvim.command(f"edit {player}")
    nvim.command("HotReload")
    diags = lua(nvim, "return vim.diagnostic.get(0, { namespace = require('hotreload.report').ns })")
    assert len(diags) == 1, diags
    assert diags[0]["lnum"] == 1 and "'=' expected" in diags[0]["message"], diags
    qf = lua(nvim, "return vim.fn.getqflist({ title = 0, items = 0 })")
    assert qf["title"] == "hotreload" and len(qf["items"]) == 1, qf
    assert qf["items"][0]["lnum"] == 2, qf
    failed = lua(nvim, "return _G.test_events")[-1]
    assert failed["pattern"] == "HotReloadFailed", failed
    data = failed["data"]
    assert data["file"] == str(player) and data["line"] == 2 and data["message"] == message, data
    assert data["kind"] == "compile" and data["reason"] == "'=' expected near 'update'", data
    note = lua(nvim, "return _G.test_notes")[-1]
    assert note["level"] == 4 and message in note["msg"], note

    lua(nvim, FAKE, str(main), {"body": dict(BODY, path=str(player))})
    nvim.command("HotReload")
    assert lua(nvim, "return #vim.diagnostic.get(0, { namespace = require('hotreload.report').ns })") == 0
    assert lua(nvim, "return #vim.fn.getqflist()") == 0


def test_a_relative_location_resolves_against_the_program_dir(nvim, tmp_path):
    main, player = program(tmp_path)
    lua(nvim, FAKE, str(main), {"err": failure("game/player.lua:3: attempt to call a nil value",
                                               kind="runtime", path="game/player.lua", line=3)})
    nvim.command(f"HotReload {player}")
    data = lua(nvim, "return _G.test_events")[-1]["data"]
    assert data["file"] == str(player) and data["line"] == 3, data


def test_someone_elses_quickfix_list_is_left_alone(nvim, tmp_path):
    main, player = program(tmp_path)
    lua(nvim, "vim.fn.setqflist({}, ' ', { title = 'grep', items = { { filename = 'x', lnum = 1, text = 'hit' } } })")
    lua(nvim, FAKE, str(main), {"body": dict(BODY, path=str(player))})
    nvim.command(f"HotReload {player}")
    qf = lua(nvim, "return vim.fn.getqflist({ title = 0, size = 0 })")
    assert qf == {"title": "grep", "size": 1}, qf


def test_save_reloads_through_the_dap_session_once_per_burst(nvim, tmp_path):
    main, player = program(tmp_path)
    lua(nvim, FAKE, str(main), {"body": dict(BODY, path=str(player))})
    nvim.command(f"edit {player}")
    # Three saves in one main-loop turn: a burst however loaded the machine
    # is (separate RPCs could each outlast the debounce).
    lua(nvim, "for _ = 1, 3 do vim.cmd.write() end")
    lua(nvim, "vim.wait(5000, function() return #_G.test_requests > 0 end)")
    lua(nvim, "vim.wait(100)")
    reqs = lua(nvim, "return _G.test_requests")
    assert len(reqs) == 1, f"three quick saves made {len(reqs)} reloads: {reqs}"
    assert reqs[0]["args"] == {"path": str(player)}, reqs
