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


def test_help_hotreload_lands_at_the_top(nvim, docdir):
    nvim.command(f"helptags {docdir}")
    nvim.command(f"set rtp^={docdir.parent}")
    nvim.command("help hotreload")
    assert nvim.eval("expand('%:t')") == "hotreload.txt"
    assert nvim.eval("line('.')") <= 3


LAZY_SPEC = re.compile(r'\{\s*\n\s*"hotreload/hotreload\.nvim",.*?\n\s*\}', re.S)


def test_the_documented_lazy_spec_is_one_lazy_never_kills_and_keeps_health_working():
    for path in (REPO / "README.md", DOC):
        spec = LAZY_SPEC.search(path.read_text())
        assert spec, f"no lazy.nvim spec in {path.name}"
        text = spec.group(0)
        # A build command string is a process lazy kills after 120 s.
        assert not re.search(r"^\s*build\s*=", text, re.M), (path.name, text)
        # cmd/ft would keep the plugin off 'runtimepath' (no health, no help).
        assert "lazy = false" in text and "cmd =" not in text and "ft =" not in text, (path.name, text)


def test_troubleshooting_quotes_messages_the_plugin_prints():
    quoted = re.findall(r'^(?:A reload fails with )?"([^"]+)" ~$', DOC.read_text(), re.M)
    assert quoted
    sources = "\n".join(p.read_text() for p in list((REPO / "lua").rglob("*.lua"))
                        + [p for p in (REPO / "crates").rglob("*.rs") if "/src/" in str(p)]
                        + list((REPO / "src").rglob("*.rs")))
    for message in quoted:
        pieces = [p for p in re.split(r"\.\.\.|\bX\b|\bY\b", message) if p.strip()]
        for piece in pieces:
            assert piece.strip() in sources, f"troubleshooting quotes {message!r}; {piece.strip()!r} is printed nowhere"
