"""build.lua (lazy.nvim's build step) reports a failing or missing cargo
clearly. A successful build is what scripts/build and CI already run."""

import os
import subprocess
from pathlib import Path

from conftest import REPO, nvim_bin


def run_build(tmp_path: Path, cargo_script: str | None):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
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
