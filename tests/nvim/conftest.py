"""Drives a fresh `nvim --embed` per test with the repository on 'runtimepath'.

Neovim is found via $NVIM_BIN, else `nvim` on PATH. The native module and the
host binaries must be built first (`scripts/build`): they are loaded from
lua/hotreload_native.so and bin/ as a user's install would.
"""

import json
import os
import shutil
import socket
import stat
import time
from pathlib import Path

import pynvim
import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def nvim_bin() -> str:
    found = os.environ.get("NVIM_BIN") or shutil.which("nvim")
    if not found:
        pytest.fail("no Neovim: set $NVIM_BIN or put nvim on PATH (scripts/nvim-env installs one)")
    return found


# Records notifications and User events so tests can assert on them.
RECORDER = r"""
_G.test_notes = {}
vim.notify = function(msg, level, opts)
  table.insert(_G.test_notes, { msg = tostring(msg), level = level or vim.log.levels.INFO })
end
_G.test_events = {}
vim.api.nvim_create_autocmd('User', {
  pattern = { 'HotReloadPre', 'HotReloadPost', 'HotReloadFailed' },
  callback = function(ev)
    table.insert(_G.test_events, { pattern = ev.match, data = ev.data })
  end,
})
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private environment: XDG dirs (and so the socket dir) under tmp_path."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        d = tmp_path / name.lower()
        d.mkdir()
        monkeypatch.setenv(name, str(d))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.delenv("HOTRELOAD_HOST_DIR", raising=False)
    return tmp_path


@pytest.fixture
def nvim(env):
    """A fresh Neovim with the plugin on 'runtimepath' and the recorder set."""
    argv = [
        nvim_bin(), "--embed", "--headless", "--clean", "-n", "-i", "NONE",
        "--cmd", f"set rtp^={REPO}",
    ]
    nv = pynvim.attach("child", argv=argv)
    nv.exec_lua(RECORDER)
    yield nv
    try:
        nv.exec_lua("pcall(function() require('hotreload').stop() end)")
        nv.command("qa!")
    except Exception:
        pass
    try:
        nv.close()
    except Exception:
        pass


def lua(nv, code: str, *args):
    """Runs a Lua chunk (`...` holds args) and returns its value."""
    return nv.exec_lua(code, *args)


def describe(nv) -> str:
    """What arrived so far: notifications, User events, the output buffer."""
    try:
        state = nv.exec_lua(
            """
            local out = package.loaded['hotreload.output']
            local lines = out and out.lines() or {}
            return {
              notes = _G.test_notes,
              events = _G.test_events,
              output = vim.list_slice(lines, math.max(1, #lines - 40)),
              qf = vim.fn.getqflist({ title = 0, items = 0 }),
            }
            """
        )
    except Exception as err:  # Neovim itself may be the problem
        return f"(cannot read Neovim state: {err})"
    return json.dumps(state, indent=1, default=str)


def wait_until(nv, lua_expr: str, timeout: float = 15.0, what: str = ""):
    """Polls a Lua expression until truthy; fails showing what arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = nv.exec_lua(f"return {lua_expr}")
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what or lua_expr}\n{describe(nv)}")


def output_lines(nv):
    return nv.exec_lua("return require('hotreload.output').lines()")


def copy_fixture(name: str, dest: Path) -> Path:
    src = FIXTURES / name
    target = dest / name
    if src.is_dir():
        shutil.copytree(src, target)
    else:
        shutil.copy(src, target)
    return target


def private(path: Path) -> bool:
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode & 0o077 == 0


class DapClient:
    """A minimal DAP client over a Unix socket, for talking to our server."""

    def __init__(self, path: str, timeout: float = 10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.seq = 0
        self.received = []

    def send(self, command: str, arguments=None) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments or {}}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def read(self):
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                length = None
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                assert length is not None, f"bad header {head!r}"
                if len(rest) >= length:
                    self.buf = rest[length:]
                    msg = json.loads(rest[:length])
                    self.received.append(msg)
                    return msg
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed; received: {self.received}")
            self.buf += chunk

    def request(self, command: str, arguments=None):
        seq = self.send(command, arguments)
        while True:
            msg = self.read()
            if msg.get("type") == "response" and msg.get("request_seq") == seq:
                return msg

    def close(self):
        self.sock.close()
