"""End to end: `:HotReload attach` in a real Neovim, a real C program that
embeds Debian's liblua5.4 and loads the agent, and reload on save into it
with its state kept (tests/fixtures/attach)."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, lua, wait_until

AGENT = REPO / "agent" / "lua5.4" / "hotreload_agent.so"
ATTACH = REPO / "tests" / "fixtures" / "attach"


@pytest.fixture
def embed(tmp_path):
    """The embedding C program, built here (skips without liblua5.4-dev)."""
    if not Path("/usr/include/lua5.4/lua.h").exists():
        pytest.skip("liblua5.4-dev is not installed (scripts/attach-env installs it)")
    assert AGENT.exists(), f"{AGENT} is missing: run scripts/build"
    exe = tmp_path / "embed54"
    subprocess.run(
        ["cc", "-o", str(exe), str(ATTACH / "embed.c"),
         "-I/usr/include/lua5.4", "-llua5.4"],
        check=True,
    )
    return exe


def start_program(exe: Path, work: Path, connect: str) -> subprocess.Popen:
    for name in ("game.lua", "counter.lua"):
        shutil.copy(ATTACH / name, work / name)
    (work / "run").write_text("")
    return subprocess.Popen(
        [str(exe), str(work / "game.lua"), str(work / "run")],
        cwd=work,
        env={
            "PATH": "/usr/bin:/bin",
            "LUA_CPATH_5_4": f"{AGENT.parent}/?.so;;",
            "LUA_PATH_5_4": f"{work}/?.lua;;",
            "HOTRELOAD_CONNECT": connect,
        },
        stdout=open(work / "stdout", "w"),
        stderr=open(work / "stderr", "w"),
    )


def wait_file(path: Path, check, what: str, timeout: float = 15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = path.read_text() if path.exists() else ""
        if check(text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path} never showed {what}:\n{path.read_text() if path.exists() else ''}")


def test_attach_and_reload_on_save_keeps_the_programs_state(nvim, embed, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    lua(nvim, "require('hotreload').setup({ reload_on_save = true, debounce_ms = 20 })")
    # The files of an attached program are those under Neovim's directory.
    nvim.command(f"cd {work}")
    nvim.command("HotReload attach")
    sock = lua(nvim, "return require('hotreload.attach').default_address()")
    program = start_program(embed, work, sock)
    try:
        wait_until(nvim, "require('hotreload').status().state == 'running'", what="the attach")
        wait_file(work / "stdout", lambda t: "v1 count=50 " in t, "50 frames")
        nvim.command(f"edit {work / 'counter.lua'}")
        buf = nvim.current.buffer
        line = next(i for i, l in enumerate(buf) if "'v1 count='" in l)
        buf[line] = buf[line].replace("'v1 count='", "'v2 count='")
        nvim.command("write")
        text = wait_file(work / "stdout", lambda t: "v2 count=" in t, "the reloaded code")
        first_v2 = int(text.split("v2 count=")[1].split()[0])
        assert first_v2 > 50, f"the counter was reset: {text}"
        # Stopping the attach session leaves the program running.
        assert lua(nvim, "return require('hotreload').stop()")
        lines = (work / "stdout").read_text().count("\n")
        wait_file(work / "stdout", lambda t: t.count("\n") > lines + 1, "output after the detach")
        assert program.poll() is None, "detaching ended the program"
    finally:
        (work / "run").unlink(missing_ok=True)
        try:
            program.wait(timeout=15)
        except subprocess.TimeoutExpired:
            program.kill()
    assert program.returncode == 0, (work / "stderr").read_text()


def test_attach_with_a_bad_address_says_why(nvim):
    nvim.command("HotReload attach example.com:80")
    wait_until(
        nvim,
        "(function() for _, l in ipairs(require('hotreload.output').lines()) do "
        "if l:find('not an address', 1, true) then return true end end return false end)()",
        what="the refusal in the output buffer",
    )
    assert not lua(nvim, "return require('hotreload').status().running")
