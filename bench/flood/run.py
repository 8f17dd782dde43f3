#!/usr/bin/env python3
"""Output flood: how long a program printing N lines takes from `launch` to
`terminated` through hotreload-dap, as a ratio of the plain interpreter
writing the same lines to a pipe, measured in the same run.

    python3 bench/flood/run.py [--adapter PATH] [--lines N] [--repeat K] [--lua PATH]

The baseline is a stock `lua5.4` (install it with your system's package
manager, e.g. the `lua5.4` package on Debian); without one it falls back to
the host with `noDebug` and says so. Each case also checks that every line
arrived, in order, and reports the number of `output` events and the
adapter's peak resident memory (VmHWM). Goal: at most 5x.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PROGRAM = HERE / "flood.lua"


def read_message(out):
    length = None
    while True:
        line = out.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return json.loads(out.read(length))


def send(proc, seq, command, arguments):
    body = json.dumps({"seq": seq, "type": "request", "command": command, "arguments": arguments}).encode()
    proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    proc.stdin.flush()


def peak_rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def through_adapter(adapter, lines, no_debug):
    """(seconds from launch to terminated, output events, stdout text, peak KiB)."""
    proc = subprocess.Popen([adapter], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    seq = 0
    try:
        seq += 1
        send(proc, seq, "initialize", {"adapterID": "hotreload"})
        t0 = time.perf_counter()
        seq += 1
        send(proc, seq, "launch", {"program": str(PROGRAM), "args": [str(lines)], "noDebug": no_debug})
        events = 0
        chunks = []
        peak = 0
        while True:
            msg = read_message(proc.stdout)
            if msg is None:
                raise RuntimeError("adapter closed its output")
            if msg.get("type") == "response" and not msg.get("success"):
                raise RuntimeError(f"{msg.get('command')} failed: {msg.get('message')}")
            if msg.get("type") != "event":
                continue
            name = msg["event"]
            if name == "initialized":
                seq += 1
                send(proc, seq, "configurationDone", {})
            elif name == "output":
                events += 1
                body = msg.get("body") or {}
                if body.get("category") == "stdout":
                    chunks.append(body.get("output", ""))
            elif name == "exited":
                peak = peak_rss_kib(proc.pid)
            elif name == "terminated":
                elapsed = time.perf_counter() - t0
                break
        return elapsed, events, "".join(chunks), peak
    finally:
        try:
            seq += 1
            send(proc, seq, "disconnect", {})
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def plain(lua, lines):
    t0 = time.perf_counter()
    proc = subprocess.Popen([lua, str(PROGRAM), str(lines)], stdout=subprocess.PIPE)
    size = 0
    while True:
        block = proc.stdout.read(1 << 16)
        if not block:
            break
        size += len(block)
    proc.wait()
    return time.perf_counter() - t0, size


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter", default=os.environ.get("HOTRELOAD_DAP", str(REPO / "bin" / "hotreload-dap")))
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lua", default=shutil.which("lua5.4") or shutil.which("lua"))
    opts = parser.parse_args()
    if not Path(opts.adapter).exists():
        sys.exit(f"no adapter at {opts.adapter}: run scripts/build --release first")
    expected = "".join(f"line {i}\n" for i in range(1, opts.lines + 1))

    best = {}

    def keep(name, seconds, extra=None):
        if name not in best or seconds < best[name][0]:
            best[name] = (seconds, extra)

    for _ in range(opts.repeat):
        if opts.lua:
            seconds, size = plain(opts.lua, opts.lines)
            if size != len(expected):
                sys.exit(f"{opts.lua} wrote {size} bytes, expected {len(expected)}")
            keep("plain", seconds)
        for mode, no_debug in (("noDebug", True), ("debug", False)):
            seconds, events, text, peak = through_adapter(opts.adapter, opts.lines, no_debug)
            if text != expected:
                sys.exit(f"{mode}: output differs: {len(text)} bytes, expected {len(expected)}")
            keep(mode, seconds, (events, peak))

    base_name = "plain" if opts.lua else "noDebug"
    base = best[base_name][0]
    print(f"{opts.lines} lines; best of {opts.repeat}; baseline: "
          + (f"{opts.lua} writing to a pipe" if opts.lua else "the host with noDebug (no stock lua found)"))
    print(f"{'case':<10} {'seconds':>9} {'ratio':>8} {'output events':>14} {'adapter peak':>13}")
    for name in ("plain", "noDebug", "debug"):
        if name not in best:
            continue
        seconds, extra = best[name]
        events, peak = extra if extra else ("-", 0)
        peak_text = f"{peak / 1024:.1f} MiB" if peak else "-"
        print(f"{name:<10} {seconds:>9.3f} {seconds / base:>7.2f}x {events!s:>14} {peak_text:>13}")


if __name__ == "__main__":
    main()
