"""The Lua DAP client's framing: whole, split and glued frames, a bad header."""

from conftest import lua

SPLIT = """
local client = require('hotreload.client')
local frames = {}
local buffer, bad = '', nil
for _, chunk in ipairs(...) do
  local bodies, rest, err = client.split_frames(buffer .. chunk)
  buffer, bad = rest, bad or err
  vim.list_extend(frames, bodies)
end
return { frames = frames, rest = buffer, err = bad }
"""


def frame(body: str) -> str:
    return f"Content-Length: {len(body.encode())}\r\n\r\n{body}"


def test_frames_fed_byte_by_byte(nvim):
    # Content-Length counts bytes: a multi-byte character must not shift frames.
    data = (frame('{"seq":1,"x":"é"}') + frame('{"seq":2}')).encode()
    chunks = [data[i:i + 1] for i in range(len(data))]  # sent as byte strings
    result = lua(nvim, SPLIT, chunks)
    assert result["frames"] == ['{"seq":1,"x":"é"}', '{"seq":2}'], result
    assert result["rest"] in ("", b"") and "err" not in result, result


def test_several_frames_in_one_chunk_and_a_partial_tail(nvim):
    text = frame('{"a":1}') + frame('{"b":2}') + "Content-Length: 10\r\n\r\n{\"c\""
    result = lua(nvim, SPLIT, [text])
    assert result["frames"] == ['{"a":1}', '{"b":2}'], result
    assert result["rest"].endswith('{"c"'), result


def test_header_names_are_case_insensitive(nvim):
    result = lua(nvim, SPLIT, ['content-length: 7\r\n\r\n{"a":1}'])
    assert result["frames"] == ['{"a":1}'], result


def test_a_bad_header_is_an_error(nvim):
    result = lua(nvim, SPLIT, ["Content-Type: json\r\n\r\n{}"])
    assert result["frames"] == [] and "bad header" in result["err"], result
