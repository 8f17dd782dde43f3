#!/usr/bin/env python3
"""Reload cost on a stock LuaJIT through the attach agent, as the heap grows.

For 10k, 100k and 1M heap objects (tables each holding two functions of the
reloaded module), starts `luajit heap.lua N` with the agent listening,
attaches `bin/hotreload-dap` to it, reloads `benchmod.lua` five times and
prints the median `durationMs` the agent measured with its in-place swap
(vm/luajit_stock, after its layout check) and with the pure-Lua walk alone
(`HOTRELOAD_LUAJIT_STOCK=off`), next to the baseline of the same run: one
full `collectgarbage()` of the same heap in the same program. Needs
`scripts/build` (agent/luajit) and `luajit`.

Usage: bench/attach/run.py [sizes...]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


class Dap:
    def __init__(self):
        self.p = subprocess.Popen([str(ROOT / "bin" / "hotreload-dap")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.seq = 0

    def send(self, command, arguments):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments}).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()
        return self.seq

    def read(self):
        length = 0
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("the adapter closed")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def request(self, command, arguments):
        seq = self.send(command, arguments)
        while True:
            msg = self.read()
            if msg.get("type") == "response" and msg.get("request_seq") == seq:
                if not msg.get("success"):
                    raise RuntimeError(f"{command}: {msg.get('message')}")
                return msg.get("body") or {}

    def close(self):
        try:
            self.request("disconnect", {})
        finally:
            self.p.kill()
            self.p.wait()


def measure(n: int, workdir: Path, walker: bool = False):
    sock = workdir / "sock" / f"agent-{n}-{int(walker)}"
    sock.parent.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ,
               LUA_CPATH=f"{ROOT}/agent/luajit/?.so;;",
               LUA_PATH=f"{workdir}/?.lua;;",
               HOTRELOAD_LISTEN=str(sock),
               LUA_INIT=os.environ.get("BENCH_LUA_INIT", "require('hotreload_agent').start()"))
    if walker:
        env["HOTRELOAD_LUAJIT_STOCK"] = "off"
    module = workdir / "benchmod.lua"
    module.write_text((HERE / "benchmod.lua").read_text())
    program = subprocess.Popen(["luajit", str(HERE / "heap.lua"), str(n)], env=env,
                               cwd=workdir, stdout=subprocess.DEVNULL)
    dap = Dap()
    try:
        dap.request("initialize", {"adapterID": "hotreload"})
        dap.request("attach", {"connect": str(sock), "timeout": 120})
        dap.request("configurationDone", {})
        deadline = time.time() + 300
        while dap.request("evaluate", {"expression": "ready == true", "context": "repl"})["result"] != "true":
            if time.time() > deadline:
                raise RuntimeError("the heap was never built")
            time.sleep(0.2)
        gc_ms = float(dap.request("evaluate", {"expression": "gc_ms", "context": "repl"})["result"])
        durations = []
        source = (HERE / "benchmod.lua").read_text()
        for version in range(2, 7):
            body = dap.request("hotReload", {"path": str(module),
                                             "source": source.replace("return 1 -- version", f"return {version} -- version")})
            durations.append(body["durationMs"])
        check = dap.request("evaluate", {"expression": "objects[1].draw()", "context": "repl"})["result"]
        assert check == "6", f"old references did not get the new code: draw() = {check}"
        return statistics.median(durations), gc_ms
    finally:
        dap.close()
        program.kill()
        program.wait()


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'heap objects':>12} {'swap ms':>8} {'walk ms':>8} {'walk/swap':>9} "
              f"{'full GC ms':>11} {'swap/GC':>8}")
        for n in sizes:
            swap_ms, gc_ms = measure(n, Path(tmp))
            walk_ms, _ = measure(n, Path(tmp), walker=True)
            print(f"{n:>12} {swap_ms:>8.1f} {walk_ms:>8.1f} {walk_ms / max(swap_ms, 0.001):>9.1f} "
                  f"{gc_ms:>11.1f} {swap_ms / max(gc_ms, 0.001):>8.2f}")


if __name__ == "__main__":
    main()
