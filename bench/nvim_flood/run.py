#!/usr/bin/env python3
"""Neovim during an output flood: is the editor still responsive, and does
its memory stay bounded, while a `:HotReload run` program prints N lines?

    python3 bench/nvim_flood/run.py [--lines N] [--max-lines M]

Measured in one run, in a fresh `nvim --embed` with the plugin:
  - the RPC round trip into Neovim (`nvim_eval('1')`) while idle (baseline)
    and while the program floods: median, p95, worst (goal: worst <= 50 ms);
  - the time from `:HotReload run` to the program's end as seen in Neovim,
    against the plain interpreter (`--lua`, default lua5.4) writing the same
    lines to a pipe;
  - Neovim's resident memory before and after, and the output buffer's line
    count (held at `output.max_lines`).
Uses the built plugin as a user's install would (lua/hotreload_native.so,
bin/); build it with `scripts/build --release` for meaningful figures.
Not a test: it prints figures and ratios.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pynvim

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

PROGRAM = """\
local n = {lines}
for i = 1, n do
  print('line ' .. i .. ' of the flood, with some text after it')
end
"""


def nvim_bin() -> str:
    found = os.environ.get("NVIM_BIN") or shutil.which("nvim")
    if not found:
        sys.exit("no Neovim: set $NVIM_BIN or put nvim on PATH (scripts/nvim-env installs one)")
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rtt(nv) -> float:
    t = time.perf_counter()
    nv.eval("1")
    return (time.perf_counter() - t) * 1000


def summary(samples):
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(len(s) * 0.95))]
    return statistics.median(s), p95, s[-1]


def baseline_pipe(program: Path, lua: str) -> float:
    """The plain interpreter writing the same lines to a pipe."""
    t = time.perf_counter()
    proc = subprocess.Popen([lua, str(program)], stdout=subprocess.PIPE)
    while proc.stdout.read(1 << 20):
        pass
    proc.wait()
    return time.perf_counter() - t


def flood_in_nvim(program: Path, lines: int, max_lines: int):
    argv = [nvim_bin(), "--embed", "--headless", "--clean", "-n", "-i", "NONE",
            "--cmd", f"set rtp^={REPO}"]
    nv = pynvim.attach("child", argv=argv)
    try:
        nv.exec_lua("require('hotreload').setup({ output = { max_lines = ... } })", max_lines)
        pid = nv.eval("getpid()")
        idle = [rtt(nv) for _ in range(200)]
        rss_before = rss_kib(pid)
        t = time.perf_counter()
        nv.command(f"HotReload run {program}")
        busy = []
        slow = []  # (seconds into the flood, round trip ms) past 50 ms
        peak = rss_before
        while True:
            busy.append(rtt(nv))
            if busy[-1] > 50:
                slow.append((time.perf_counter() - t, busy[-1]))
            peak = max(peak, rss_kib(pid))
            if nv.exec_lua("return require('hotreload').status().running") is False:
                break
            if time.perf_counter() - t > 900:
                sys.exit("the flood did not end within 900 s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - t
        count = nv.exec_lua("return vim.api.nvim_buf_line_count(require('hotreload.output').buffer())")
        first = nv.exec_lua("return vim.api.nvim_buf_get_lines(require('hotreload.output').buffer(), 0, 1, false)[1]")
        last = nv.exec_lua("return vim.api.nvim_buf_get_lines(require('hotreload.output').buffer(), -3, -1, false)")
        return {
            "idle": idle, "busy": busy, "elapsed": elapsed, "rss_before": rss_before,
            "rss_after": rss_kib(pid), "rss_peak": peak, "count": count, "first": first, "last": last, "slow": slow,
        }
    finally:
        try:
            nv.command("qa!")
        except Exception:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--max-lines", type=int, default=10_000)
    parser.add_argument("--lua", default=shutil.which("lua5.4") or "lua")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / "flood.lua"
        program.write_text(PROGRAM.format(lines=opts.lines))
        pipe_s = baseline_pipe(program, opts.lua)
        r = flood_in_nvim(program, opts.lines, opts.max_lines)
    im, ip, iw = summary(r["idle"])
    bm, bp, bw = summary(r["busy"])
    print(f"flood of {opts.lines:,} lines, output.max_lines = {opts.max_lines:,}")
    print(f"RPC round trip idle:   median {im:.2f} ms, p95 {ip:.2f} ms, worst {iw:.2f} ms ({len(r['idle'])} samples)")
    print(f"RPC round trip flood:  median {bm:.2f} ms, p95 {bp:.2f} ms, worst {bw:.2f} ms ({len(r['busy'])} samples)"
          f"  -> worst {'within' if bw <= 50 else 'OVER'} the 50 ms goal; median {bm / im:.1f}x idle")
    print(f"to the end, in Neovim: {r['elapsed']:.2f} s; {Path(opts.lua).name} to a pipe: {pipe_s:.2f} s"
          f" -> {r['elapsed'] / pipe_s:.2f}x")
    print(f"Neovim RSS: {r['rss_before'] / 1024:.1f} MiB before, peak {r['rss_peak'] / 1024:.1f} MiB,"
          f" {r['rss_after'] / 1024:.1f} MiB after")
    if r["slow"]:
        print("round trips over 50 ms (s into the flood: ms): "
              + ", ".join(f"{at:.2f}: {ms:.0f}" for at, ms in r["slow"][:20]))
    print(f"output buffer: {r['count']:,} lines; first: {r['first']!r}; last: {r['last']!r}")


if __name__ == "__main__":
    main()
