"""build.lua (lazy.nvim's build step) reports a failing or missing cargo
clearly. A successful build is what scripts/build and CI already run."""

import os
import shutil
import subprocess
from pathlib import Path

from conftest import REPO, nvim_bin


def run_build(tmp_path: Path, cargo_script: str | None):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "cc").symlink_to(shutil.which("cc") or "/usr/bin/cc")
    if cargo_script is not None:
        cargo = bin_dir / "cargo"
        cargo.write_text(cargo_script)
        cargo.chmod(0o755)
    env = dict(os.environ, PATH=str(bin_dir))  # no real cargo reachable
    nvim = nvim_bin()
    return subprocess.run(
        [nvim, "--clean", "-l", str(REPO / "build.lua")],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_a_failing_cargo_fails_the_build_with_its_output(tmp_path):
    result = run_build(tmp_path, "#!/bin/sh\necho 'error[E0425]: cannot find value' >&2\nexit 101\n")
    assert result.returncode != 0, result
    out = result.stdout + result.stderr
    assert "hotreload build failed: scripts/build exited with 101" in out, out
    assert "error[E0425]: cannot find value" in out, out


def test_a_missing_cargo_says_what_to_install(tmp_path):
    result = run_build(tmp_path, None)
    assert result.returncode != 0, result
    out = result.stdout + result.stderr
    assert "cargo not found" in out and ":Lazy build hotreload.nvim" in out, out


# --- lazy.nvim, as it runs a build (tests/nvim/fixtures/lazy_standin.lua) ---

import pynvim  # noqa: E402

from conftest import FIXTURES, wait_until  # noqa: E402

# A cargo that takes longer than the stand-in's process limit, says what it
# compiles as cargo does, then leaves the artifacts scripts/build installs.
SLOW_CARGO = """#!/bin/sh
for crate in serde tokio mlua hotreload-host hotreload-nvim; do
  echo "   Compiling $crate v1.0.0" >&2
  sleep 0.6
done
mkdir -p target/release
for f in libhotreload_native.so libhotreload_agent.so hotreload-dap hotreload-host-lua54; do
  printf '#!/bin/sh\\n' > target/release/$f
  chmod +x target/release/$f
done
echo "    Finished release profile" >&2
"""

LIMIT_MS = 1500  # the stand-in's process limit (lazy: 120 s)


def plugin_copy(tmp_path: Path) -> Path:
    """build.lua and scripts/build in a directory of their own."""
    plugin = tmp_path / "hotreload.nvim"
    (plugin / "scripts").mkdir(parents=True)
    (plugin / "lua").mkdir()
    shutil.copy(REPO / "build.lua", plugin / "build.lua")
    shutil.copy(REPO / "scripts" / "build", plugin / "scripts" / "build")
    return plugin


def nvim_with_path(monkeypatch, path: str):
    nvim = nvim_bin()
    monkeypatch.setenv("PATH", path)
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    monkeypatch.delenv("CC", raising=False)
    return pynvim.attach("child", argv=[nvim, "--embed", "--headless", "--clean", "-n", "-i", "NONE"])


def lazy_build(nv, plugin: Path, build=None):
    nv.exec_lua(
        "_G.task = dofile(...).build(select(2, ...), select(3, ...), { timeout_ms = select(4, ...) })",
        str(FIXTURES / "lazy_standin.lua"), str(plugin), build, LIMIT_MS,
    )
    wait_until(nv, "_G.task.done", timeout=60, what="the build task to end")
    return nv.exec_lua("return { log = _G.task.log, errors = _G.task:errors(), ticks = _G.task.ticks }")


def fake_bin(tmp_path: Path, cargo: bool) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    if cargo:
        (bin_dir / "cargo").write_text(SLOW_CARGO)
        (bin_dir / "cargo").chmod(0o755)
    return bin_dir


def test_lazy_runs_build_lua_past_its_process_limit_with_progress(tmp_path, monkeypatch):
    plugin = plugin_copy(tmp_path)
    nv = nvim_with_path(monkeypatch, f"{fake_bin(tmp_path, cargo=True)}:/usr/bin:/bin")
    try:
        result = lazy_build(nv, plugin)  # the documented spec: no `build`, build.lua is found
    finally:
        nv.close()
    assert result["errors"] == [], result["log"]
    messages = [e["msg"] for e in result["log"]]
    progress = [m for m in messages if m.startswith("hotreload build: compiling ")]
    assert len(progress) >= 2, messages
    assert any("hotreload-nvim" in m for m in progress), messages
    assert (plugin / "lua" / "hotreload_native.so").exists()
    assert (plugin / "bin" / "hotreload-host-lua54").exists()
    # Neovim's loop kept turning: the coroutine was resumed tick after tick.
    assert result["ticks"] > 5, result


def test_the_same_build_as_a_command_is_killed_at_lazys_limit(tmp_path, monkeypatch):
    # Why the spec must not say `build = "scripts/build --release"`.
    plugin = plugin_copy(tmp_path)
    nv = nvim_with_path(monkeypatch, f"{fake_bin(tmp_path, cargo=True)}:/usr/bin:/bin")
    try:
        result = lazy_build(nv, plugin, "scripts/build --release")
    finally:
        nv.close()
    assert any("killed because it reached the timeout" in e["msg"] for e in result["errors"]), result["log"]
    assert not (plugin / "lua" / "hotreload_native.so").exists()


def test_under_lazy_a_missing_c_compiler_fails_loudly(tmp_path, monkeypatch):
    plugin = plugin_copy(tmp_path)
    nv = nvim_with_path(monkeypatch, str(fake_bin(tmp_path, cargo=True)))  # cargo, no cc
    try:
        result = lazy_build(nv, plugin)
    finally:
        nv.close()
    assert len(result["errors"]) == 1, result["log"]
    assert "no C compiler" in result["errors"][0]["msg"], result["errors"]


def test_under_lazy_a_missing_cargo_fails_loudly(tmp_path, monkeypatch):
    plugin = plugin_copy(tmp_path)
    nv = nvim_with_path(monkeypatch, f"{fake_bin(tmp_path, cargo=False)}:/usr/bin:/bin")
    try:
        result = lazy_build(nv, plugin)
    finally:
        nv.close()
    assert len(result["errors"]) == 1, result["log"]
    assert "cargo not found" in result["errors"][0]["msg"], result["errors"]
