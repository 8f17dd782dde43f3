#!/usr/bin/env python3
"""Startup cost of the plugin: Neovim's --startuptime with this checkout on
'runtimepath' against the same start without it, in the same run.

    python3 bench/startup/run.py [--runs N] [--nvim PATH]

Prints the median time spent sourcing plugin/hotreload.lua and the median
total startup of both, with their ratio. The goal is <= 1 ms for the plugin
file and a ratio indistinguishable from 1.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def startup(nvim, with_plugin):
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "startup.log"
        cmd = [nvim, "--headless", "--clean", "-n", "-i", "NONE"]
        if with_plugin:
            cmd += ["--cmd", f"set rtp^={REPO}"]
        subprocess.run(cmd + ["--startuptime", str(log), "+qa!"], check=True, timeout=30)
        text = log.read_text()
    total = float(re.findall(r"^(\d+\.\d+)", text, re.M)[-1])
    plugin = 0.0
    for line in text.splitlines():
        if "plugin/hotreload.lua" in line and "sourcing" in line:
            plugin += float(re.findall(r"\d+\.\d+", line)[1])
    return total, plugin


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--nvim", default=os.environ.get("NVIM_BIN") or shutil.which("nvim") or "nvim")
    opts = parser.parse_args()
    base, with_plugin, plugin = [], [], []
    for _ in range(opts.runs):  # interleaved, so load changes hit both alike
        base.append(startup(opts.nvim, False)[0])
        total, own = startup(opts.nvim, True)
        with_plugin.append(total)
        plugin.append(own)
    b, w = statistics.median(base), statistics.median(with_plugin)
    print(f"{opts.runs} runs each, medians")
    print(f"plugin/hotreload.lua sourcing: {statistics.median(plugin):.3f} ms")
    print(f"startup without the plugin:    {b:.3f} ms")
    print(f"startup with the plugin:       {w:.3f} ms  ({w / b:.3f}x)")


if __name__ == "__main__":
    main()
