#!/usr/bin/env python3
"""Reload time of a Neovim plugin module inside Neovim as the heap grows: the
in-place swap for Neovim's LuaJIT against the pure-Lua walk, in one run
(bench.lua). At each size, N extra tables hold the module's functions; a
keymap and a user command hold closures its setup() made (found through the
registry, no pass over the heap). Prints the median of five reloads with each
backend and whether the closures made inside functions ran the new code.
Needs `scripts/build` (lua/hotreload_native.so) and Neovim ($NVIM_BIN or
.venv/bin/nvim).

Usage: bench/nvim/run.py [sizes...]   (default 0 100000 1000000)
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def run(nvim: str, mode: str, sizes):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [nvim, "--headless", "--clean", "-n", "-i", "NONE", "--cmd", f"set rtp^={ROOT}",
               "-l", str(HERE / "bench.lua"), mode, tmp, *sizes]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        n, ms, inline = line.split()
        rows[int(n)] = (float(ms), inline)
    return rows


def main():
    sizes = sys.argv[1:] or ["0", "100000", "1000000"]
    nvim = os.environ.get("NVIM_BIN") or str(ROOT / ".venv" / "bin" / "nvim")
    swap = run(nvim, "swap", sizes)
    walk = run(nvim, "walk", sizes)
    print(f"{'extra objs':>12} {'swap ms':>9} {'walk ms':>9} {'walk/swap':>10}  closures setup() made run the new code (swap / walk)")
    for n in sorted(swap):
        (s_ms, s_in), (w_ms, w_in) = swap[n], walk[n]
        print(f"{n:>12} {s_ms:>9.2f} {w_ms:>9.2f} {w_ms / max(s_ms, 0.001):>10.1f}  {s_in} / {w_in}")


if __name__ == "__main__":
    main()
