#!/usr/bin/env python3
"""Reload cost in a stock VM through the attach agent, as the heap grows.

For 10k, 100k and 1M heap objects (tables each holding two functions of the
reloaded module), starts `<vm> heap.lua N` with the agent listening,
attaches `bin/hotreload-dap` to it, reloads `benchmod.lua` five times and
prints the median `durationMs` the agent measured: once with the agent's
default (the in-place swap where its check of the running VM passed:
stock/fast_reload.c for PUC Lua, vm/luajit_stock for LuaJIT) and once with
the pure-Lua walk alone (`HOTRELOAD_FAST_RELOAD=0`, and for LuaJIT
`HOTRELOAD_LUAJIT_STOCK=off`), next to the baseline of the same run: one
full `collectgarbage()` of the same heap in the same program. Needs
`scripts/build` and the VM's interpreter (scripts/attach-env).

Usage: bench/attach/run.py [--vm luajit|lua5.1|lua5.2|lua5.3|lua5.4] [sizes...]
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


def measure(vm: str, n: int, workdir: Path, walk: bool):
    sock = workdir / "sock" / f"agent-{n}-{int(walk)}"
    sock.parent.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ,
               HOTRELOAD_FAST_RELOAD="0" if walk else "1",
               LUA_CPATH=f"{ROOT}/agent/{vm}/?.so;;",
               LUA_PATH=f"{workdir}/?.lua;;",
               HOTRELOAD_LISTEN=str(sock),
               LUA_INIT=os.environ.get("BENCH_LUA_INIT", "require('hotreload_agent').start()"))
    if walk:
        env["HOTRELOAD_LUAJIT_STOCK"] = "off"
    module = workdir / "benchmod.lua"
    module.write_text((HERE / "benchmod.lua").read_text())
    for var in ("LUA_CPATH_5_2", "LUA_CPATH_5_3", "LUA_CPATH_5_4",
                "LUA_PATH_5_2", "LUA_PATH_5_3", "LUA_PATH_5_4", "LUA_INIT_5_2",
                "LUA_INIT_5_3", "LUA_INIT_5_4"):
        env.pop(var, None)
    program = subprocess.Popen([vm, str(HERE / "heap.lua"), str(n)], env=env,
                               cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        _, err = program.communicate()
        if b"pure-Lua walk" in err and not walk:
            print(f"  ({vm} refused the fast path: {err.decode(errors='replace').strip()})")


def main():
    args = sys.argv[1:]
    vm = "luajit"
    if args[:1] == ["--vm"] and len(args) >= 2:
        vm, args = args[1], args[2:]
    sizes = [int(a) for a in args] or [10_000, 100_000, 1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{vm}: median of five reloads, agent default vs the pure-Lua walk")
        print(f"{'heap objects':>12} {'default ms':>10} {'walk ms':>10} {'walk/default':>12}"
              f" {'full GC ms':>11} {'default/GC':>10}")
        for n in sizes:
            fast_ms, gc_ms = measure(vm, n, Path(tmp), walk=False)
            walk_ms, _ = measure(vm, n, Path(tmp), walk=True)
            print(f"{n:>12} {fast_ms:>10.1f} {walk_ms:>10.1f} {walk_ms / max(fast_ms, 0.001):>12.1f}"
                  f" {gc_ms:>11.1f} {fast_ms / max(gc_ms, 0.001):>10.2f}")


if __name__ == "__main__":
    main()
