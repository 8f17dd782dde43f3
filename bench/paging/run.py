#!/usr/bin/env python3
"""Large tables: how long the first page of a 1,000,000-entry table takes to
come back, against listing a 3-entry table in the same run.

    python3 bench/paging/run.py [--adapter PATH] [--samples K]

Stops in tests/fixtures/debugger/big_table.lua (a million-entry array with
a named key and a metatable), then times, median of K round trips each:
  - baseline: `variables` of a 3-entry table (all of it)
  - the Locals listing, which counts `big`'s children for the client
  - the first indexed page of `big` (filter indexed, start 0, count 100)
  - a page at the end (start 999900, count 100)
  - the named children of `big` (filter named)
Goal: the first page in at most 2 ms.
"""

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PROGRAM = REPO / "tests" / "fixtures" / "debugger" / "big_table.lua"

# One DAP client for all benchmarks: the overhead benchmark's.
_spec = importlib.util.spec_from_file_location("overhead", HERE.parent / "overhead" / "run.py")
overhead = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(overhead)


def median_ms(dap, command, arguments, samples):
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        dap.request(command, arguments)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_adapter = str(REPO / "bin" / "hotreload-dap")
    parser.add_argument("--adapter", default=os.environ.get("HOTRELOAD_DAP", default_adapter))
    parser.add_argument("--samples", type=int, default=200)
    opts = parser.parse_args()

    line = next(i + 1 for i, text in enumerate(PROGRAM.read_text().splitlines())
                if "stop-here" in text)
    dap = overhead.start(opts.adapter, PROGRAM, [], breakpoints=[(PROGRAM, line)])
    try:
        stopped = dap.event("stopped")
        thread = stopped["body"].get("threadId", 1)
        frame = dap.request("stackTrace", {"threadId": thread})["stackFrames"][0]["id"]
        locals_ref = dap.request("scopes", {"frameId": frame})["scopes"][0]["variablesReference"]
        listed = {v["name"]: v for v in dap.request("variables", {"variablesReference": locals_ref})["variables"]}
        big, small = listed["big"], listed["small"]
        assert big["indexedVariables"] == 1_000_000, big
        ref = big["variablesReference"]
        cases = [
            ("baseline: a 3-entry table", {"variablesReference": small["variablesReference"]}),
            ("Locals (counts big's children)", {"variablesReference": locals_ref}),
            ("first page of big (100)", {"variablesReference": ref, "filter": "indexed", "start": 0, "count": 100}),
            ("last page of big (100)", {"variablesReference": ref, "filter": "indexed", "start": 999_900, "count": 100}),
            ("named children of big", {"variablesReference": ref, "filter": "named"}),
        ]
        results = [(name, median_ms(dap, "variables", args, opts.samples)) for name, args in cases]
    finally:
        dap.close()
    base = results[0][1]
    print(f"variables round trip, median of {opts.samples}")
    for name, ms in results:
        print(f"  {name:34} {ms:7.3f} ms  {ms / base:5.2f}x baseline")
    first = results[2][1]
    print(f"first page: {first:.3f} ms (goal <= 2 ms): {'met' if first <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
