"""doc/hotreload.txt: `:helptags` runs clean, every link resolves, and the
commands, options and events the code has are documented."""

import re
import shutil

import pytest

from conftest import REPO, lua

DOC = REPO / "doc" / "hotreload.txt"


@pytest.fixture
def docdir(tmp_path):
    d = tmp_path / "doc"
    d.mkdir()
    shutil.copy(DOC, d / "hotreload.txt")
    return d


def test_helptags_runs_clean(nvim, docdir):
    nvim.command("let v:errmsg = ''")
    nvim.command(f"helptags {docdir}")  # raises on E154 (duplicate tag) and friends
    assert nvim.eval("v:errmsg") == ""
    tags = (docdir / "tags").read_text().splitlines()
    assert len(tags) > 30, tags


def test_every_link_resolves(nvim, docdir):
    nvim.command(f"helptags {docdir}")
    nvim.command(f"set rtp^={docdir.parent}")
    links = sorted(set(re.findall(r"\|([^|\s]+)\|", "\n".join(prose_lines()))))
    bad = lua(
        nvim,
        """
        local bad = {}
        for _, tag in ipairs(...) do
          if not pcall(vim.cmd.help, tag) then bad[#bad + 1] = tag end
        end
        return bad
        """,
        links,
    )
    assert bad == [], f"links without a tag: {bad}"


def prose_lines():
    """The lines outside example blocks (`>` ... `<`), where `|x|` is a link."""
    in_block = False
    for line in DOC.read_text().splitlines():
        if in_block:
            if line.startswith("<") or (line and not line[0].isspace()):
                in_block = False
            else:
                continue
        if re.search(r"(^| )>[a-z]*$", line):
            in_block = True
            line = re.sub(r">[a-z]*$", "", line)
        yield line


def test_lines_fit_in_78_columns():
    long = [(n, line) for n, line in enumerate(DOC.read_text().splitlines(), 1) if len(line) > 78]
    assert long == [], long


def test_commands_options_and_events_are_documented(nvim):
    text = DOC.read_text()
    for sub in lua(nvim, "return vim.tbl_keys(require('hotreload.commands').subcommands)"):
        assert f"*:HotReload-{sub}*" in text, sub
    keys = lua(
        nvim,
        """
        local keys = {}
        local function walk(t, prefix)
          for k, v in pairs(t) do
            local key = prefix .. k
            if type(v) == 'table' then walk(v, key .. '.') else keys[#keys + 1] = key end
          end
        end
        walk(require('hotreload.config').defaults, '')
        keys[#keys + 1] = 'host_dir'; keys[#keys + 1] = 'socket_dir'; keys[#keys + 1] = 'log_file'
        return keys
        """,
    )
    for key in keys:
        assert re.search(rf"^{re.escape(key)}\s", text, re.M), f"option {key} has no entry"
    for event in ("HotReloadPre", "HotReloadPost", "HotReloadFailed"):
        assert f"*{event}*" in text
    for plug in ("<Plug>(HotReload)", "<Plug>(HotReloadToggleAuto)"):
        assert f"*{plug}*" in text
