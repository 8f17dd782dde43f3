"""The README's headless demo: the example game runs under the debugger in a
headless Neovim, the demo edits and saves creature.lua, and the game carries
on with its state and the new code."""

import os
import re
import shutil
import subprocess

from conftest import REPO, nvim_bin


def test_headless_demo_reloads_the_edited_module(env, tmp_path):
    game = tmp_path / "game"
    shutil.copytree(REPO / "examples" / "game", game)
    run_env = dict(
        os.environ,
        HOTRELOAD_ROOT=str(REPO),
        HOTRELOAD_DEMO_DIR=str(game),
        GAME_TICK_SECONDS="0.05",
    )
    proc = subprocess.run(
        [nvim_bin(), "--headless", "-u", "NONE", "-i", "NONE", "-n", "-l",
         str(REPO / "examples" / "demo" / "headless.lua")],
        env=run_env, capture_output=True, text=True, timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "hot reload creature: 2 changed" in out, out

    ticks = [int(t) for t in re.findall(r"tick (\d+) ", out)]
    assert ticks == list(range(1, len(ticks) + 1)), f"the tick count restarted:\n{out}"
    before = [line for line in out.splitlines() if "@" in line and "tick" in line]
    after = [line for line in out.splitlines() if "<c1:" in line]
    assert before and after, out
    # The creatures kept their positions and sizes (the reload may land in
    # the middle of a tick, so the first new line may show one old move) and
    # from then on move 10 per tick.
    last_x = int(re.search(r"c1@(\d+)", before[-1]).group(1))
    xs = [int(re.search(r"<c1:(\d+):", line).group(1)) for line in after]
    assert len(xs) >= 2, out
    assert xs[0] in (last_x + 1, last_x + 10), out
    assert all(b - a == 10 for a, b in zip(xs, xs[1:])), out

    # Act two: a mistake saved into creature.lua stops the game at the
    # error (no tick fails or is skipped: the tick count above is whole);
    # the fix saved and `:HotReload restart`, the failed move() runs again
    # with the new code and the game goes on with its state.
    assert not re.search(r"tick \d+ failed", out), out
    assert re.search(r"stopped \(exception\).*speed", out), out
    assert "retrying the failed call with the new code" in out, out
    head, _, tail = out.partition("== :HotReload restart")
    good_before = re.findall(r"<c1:(\d+):", head)
    good_after = re.findall(r"<c1:(\d+):", tail)
    assert good_before and good_after, out
    # Nobody moved while stopped; the retried tick moves 10 on from there.
    assert int(good_after[0]) - int(good_before[-1]) in (10, 20), out
    assert "no tick was lost" in out, out
