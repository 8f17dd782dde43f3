"""The output buffer keeps at most `output.max_lines` lines, says how many
earlier ones it dropped, and keeps partial lines whole across chunks."""

import re

from conftest import FIXTURES, lua, output_lines, wait_until

NOTE = re.compile(r"^\[hotreload\] (\d+) earlier lines dropped \(output\.max_lines = (\d+)\)$")


def dropped(lines):
    m = NOTE.match(lines[0])
    assert m, lines[:3]
    return int(m.group(1))


def feed(nvim, chunks, max_lines):
    """Appends each chunk on its own main-loop turn (or all in one)."""
    return lua(
        nvim,
        """
        local chunks, max_lines, per_turn = ...
        require('hotreload').setup({ output = { max_lines = max_lines } })
        local out = require('hotreload.output')
        out.clear()
        for _, chunk in ipairs(chunks) do
          out.append(chunk)
          if per_turn then out.lines() end
        end
        return out.lines()
        """,
        chunks, max_lines, True,
    )


def test_past_the_cap_the_oldest_lines_go_and_the_first_line_counts_them(nvim):
    chunks = ["".join(f"line {i}\n" for i in range(start, start + 50)) for start in range(1, 1001, 50)]
    lines = feed(nvim, chunks, 100)
    assert len(lines) == 100, len(lines)
    assert dropped(lines) == 1000 - 99
    assert lines[1] == "line 902" and lines[-1] == "line 1000", lines[:3] + lines[-2:]


def test_a_line_split_across_chunks_stays_one_line_at_the_cap(nvim):
    chunks = []
    for i in range(1, 301):
        chunks += [f"li", f"ne {i}", "\n"]
    chunks.append("open tail")
    lines = feed(nvim, chunks, 50)
    assert len(lines) == 50
    assert lines[-1] == "open tail" and lines[-2] == "line 300", lines[-3:]
    assert dropped(lines) == 300 + 1 - 49
    assert all(re.fullmatch(r"line \d+", line) for line in lines[1:-1]), lines


def test_a_huge_burst_in_one_turn_is_cut_down_before_it_is_written(nvim):
    # About 6 MiB queued in one main-loop turn: past the queue's limit.
    line = "x" * 60
    chunk = "".join(f"{i} {line}\n" for i in range(1, 10001))
    lines = lua(
        nvim,
        """
        local chunk = ...
        require('hotreload').setup({ output = { max_lines = 1000 } })
        local out = require('hotreload.output')
        out.clear()
        out.append('start of a line ')
        for _ = 1, 10 do out.append(chunk) end
        out.append('end')
        return out.lines()
        """,
        chunk,
    )
    assert len(lines) == 1000
    # 10 x 10,000 lines, the first joined to 'start of a line ', then 'end'.
    assert dropped(lines) == 100_000 + 1 - 999
    assert lines[-1] == "end" and lines[-2] == f"10000 {line}", lines[-2:]


def test_a_flooding_program_keeps_the_buffer_at_the_cap(nvim, tmp_path):
    program = tmp_path / "many.lua"
    program.write_text("for i = 1, 5000 do print('line ' .. i) end\n")
    lua(nvim, "require('hotreload').setup({ output = { max_lines = 200 } })")
    nvim.command(f"HotReload run {program}")
    wait_until(nvim, "not require('hotreload').status().running", timeout=120, what="the program's end")
    lines = output_lines(nvim)
    assert len(lines) == 200, lines[:3]
    tail = lines[1:]
    end = tail.index("line 5000")
    # Kept: a contiguous run of the program's lines, then our notes.
    first = int(tail[0].split()[1])
    assert tail[: end + 1] == [f"line {i}" for i in range(first, 5001)], tail[:3]
    # Dropped: "running ..." and the lines before the first kept one.
    assert dropped(lines) == 1 + first - 1, (lines[0], tail[0])


def test_a_flood_reaches_the_buffer_complete_and_in_order(nvim):
    lua(nvim, "require('hotreload').setup({ output = { max_lines = 100000 } })")
    nvim.command(f"HotReload run {FIXTURES / 'busy' / 'flood.lua'}")
    wait_until(nvim, "vim.api.nvim_buf_line_count(require('hotreload.output').buffer()) > 20000",
               timeout=120, what="20,000 lines of output")
    nvim.command("HotReload stop")
    lines = output_lines(nvim)
    numbers = [int(line.split("\t")[0]) for line in lines[1:] if "\t" in line]
    assert numbers[:5] == [1, 2, 3, 4, 5]
    assert numbers == list(range(1, len(numbers) + 1)), "lines lost or reordered"
