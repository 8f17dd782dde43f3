//! Content-Length framing: a pure decoder over a byte buffer and an encoder.
//!
//! [`decode`] never does I/O: the caller appends whatever it read to a buffer
//! and calls it until it returns `Ok(None)` (more bytes needed). Errors say
//! whether the stream can go on ([`CodecError::is_recoverable`]) and, where the
//! frame carried one, the `seq` to answer.

use serde_json::Value;

use crate::envelope::Message;

/// Largest body accepted; a longer `Content-Length` is an error rather than
/// an allocation the peer controls.
pub const MAX_CONTENT_LENGTH: usize = 64 * 1024 * 1024;

/// Largest header block accepted before its terminating blank line.
pub const MAX_HEADER_LENGTH: usize = 8 * 1024;

const HEADER_END: &[u8] = b"\r\n\r\n";

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The header block is not `Name: value` lines of ASCII, lacks a valid
    /// `Content-Length`, or never ends. The stream cannot be resynchronised.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// `Content-Length` is above [`MAX_CONTENT_LENGTH`]. Not recoverable.
    #[error("message of {length} bytes is over the limit of {max} bytes")]
    TooLong {
        /// The announced length.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// The body is not JSON, or not a DAP message. The frame was consumed, so
    /// the stream goes on; `seq`/`command` are set when the body had them.
    #[error("bad message{}: {reason}", seq.map(|s| format!(" (seq {s})")).unwrap_or_default())]
    BadMessage {
        /// The `seq` of the message, when it could be read.
        seq: Option<i64>,
        /// The `command` of the message, when it could be read.
        command: Option<String>,
        /// What was wrong.
        reason: String,
    },
}

impl CodecError {
    /// True when the bad frame was consumed and later frames can be decoded.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, CodecError::BadMessage { .. })
    }
}

/// Decodes one message from the front of `buf`, removing its bytes.
///
/// Returns `Ok(None)` when `buf` holds no complete frame yet (nothing is
/// consumed then). Header names are case-insensitive; headers other than
/// `Content-Length` are ignored.
pub fn decode(buf: &mut Vec<u8>) -> Result<Option<Message>, CodecError> {
    let Some(header_len) = find(buf, HEADER_END) else {
        if buf.len() > MAX_HEADER_LENGTH {
            return Err(CodecError::BadHeader(format!(
                "no end of header within {MAX_HEADER_LENGTH} bytes"
            )));
        }
        return Ok(None);
    };
    if header_len > MAX_HEADER_LENGTH {
        return Err(CodecError::BadHeader(format!(
            "header longer than {MAX_HEADER_LENGTH} bytes"
        )));
    }
    let length = content_length(&buf[..header_len])?;
    if length > MAX_CONTENT_LENGTH {
        return Err(CodecError::TooLong {
            length,
            max: MAX_CONTENT_LENGTH,
        });
    }
    let body_start = header_len + HEADER_END.len();
    let Some(body_end) = body_start.checked_add(length) else {
        return Err(CodecError::TooLong {
            length,
            max: MAX_CONTENT_LENGTH,
        });
    };
    if buf.len() < body_end {
        return Ok(None);
    }
    let frame: Vec<u8> = buf.drain(..body_end).collect();
    parse_body(&frame[body_start..]).map(Some)
}

/// Frames one message: `Content-Length` header, blank line, JSON body.
pub fn encode(message: &Message) -> Vec<u8> {
    // Serialising our own enum of strings, numbers and `Value`s cannot fail;
    // fall back to an empty object rather than panic if it ever did.
    let body = serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec());
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(header: &[u8]) -> Result<usize, CodecError> {
    let text = std::str::from_utf8(header)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| CodecError::BadHeader("header is not ASCII".into()))?;
    let mut length = None;
    for line in text.split("\r\n") {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| CodecError::BadHeader(format!("not a 'Name: value' line: {line:?}")))?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            let parsed = value
                .parse::<usize>()
                .map_err(|_| CodecError::BadHeader(format!("bad Content-Length {value:?}")))?;
            length = Some(parsed);
        }
    }
    length.ok_or_else(|| CodecError::BadHeader("no Content-Length".into()))
}

fn parse_body(body: &[u8]) -> Result<Message, CodecError> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            // Not UTF-8 or a lone surrogate escape: still answer the request
            // when its `seq` can be read from a repaired copy.
            let repaired = repair(body);
            let (seq, command) = serde_json::from_str::<Value>(&repaired)
                .map(|v| (seq_of(&v), command_of(&v)))
                .unwrap_or((None, None));
            return Err(CodecError::BadMessage {
                seq,
                command,
                reason: format!("invalid JSON: {e}"),
            });
        }
    };
    let seq = seq_of(&value);
    let command = command_of(&value);
    serde_json::from_value(value).map_err(|e| CodecError::BadMessage {
        seq,
        command,
        reason: format!("not a DAP message: {e}"),
    })
}

fn seq_of(value: &Value) -> Option<i64> {
    value.get("seq").and_then(Value::as_i64)
}

fn command_of(value: &Value) -> Option<String> {
    value
        .get("command")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The body as text with invalid UTF-8 replaced and `\u` escapes of
/// unpaired surrogates turned into `\ufffd`, only to read `seq` from.
fn repair(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        match surrogate_at(bytes, i) {
            Some(0xD800..=0xDBFF)
                if matches!(surrogate_at(bytes, i + 6), Some(0xDC00..=0xDFFF)) =>
            {
                i += 12;
            }
            Some(_) => {
                out.push_str(&text[last..i]);
                out.push_str("\\ufffd");
                i += 6;
                last = i;
            }
            // Any other escape: skip the escaped character (it may be `\\`).
            None => i += 2,
        }
    }
    out.push_str(&text[last.min(text.len())..]);
    out
}

/// The surrogate code unit of a `\uXXXX` escape starting at `at`, if it is one.
fn surrogate_at(bytes: &[u8], at: usize) -> Option<u32> {
    let escape = bytes.get(at..at.checked_add(6)?)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    let unit = u32::from_str_radix(hex, 16).ok()?;
    (0xD800..=0xDFFF).contains(&unit).then_some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Event, Request};

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    /// Feeds `input` one byte at a time, collecting every result.
    fn feed_bytewise(input: &[u8]) -> (Vec<Result<Message, CodecError>>, Vec<u8>) {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for &b in input {
            buf.push(b);
            loop {
                match decode(&mut buf) {
                    Ok(Some(m)) => out.push(Ok(m)),
                    Ok(None) => break,
                    Err(e) => {
                        let stop = !e.is_recoverable();
                        out.push(Err(e));
                        if stop {
                            return (out, buf);
                        }
                    }
                }
            }
        }
        (out, buf)
    }

    fn request(seq: i64, command: &str) -> Message {
        Message::Request(Request {
            seq,
            command: command.into(),
            arguments: None,
        })
    }

    #[test]
    fn decodes_a_message_fed_byte_by_byte() {
        let input = frame(r#"{"seq":1,"type":"request","command":"initialize"}"#);
        let (out, rest) = feed_bytewise(&input);
        assert_eq!(out, vec![Ok(request(1, "initialize"))]);
        assert!(rest.is_empty());
    }

    #[test]
    fn incomplete_frame_consumes_nothing() {
        let input = frame(r#"{"seq":1,"type":"request","command":"threads"}"#);
        for cut in 0..input.len() {
            let mut buf = input[..cut].to_vec();
            assert_eq!(decode(&mut buf), Ok(None), "cut at {cut}");
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn decodes_several_messages_in_one_read() {
        let mut input = frame(r#"{"seq":1,"type":"request","command":"a"}"#);
        input.extend(frame(r#"{"seq":2,"type":"request","command":"b"}"#));
        input.extend(b"Content-Len");
        let mut buf = input;
        assert_eq!(decode(&mut buf), Ok(Some(request(1, "a"))));
        assert_eq!(decode(&mut buf), Ok(Some(request(2, "b"))));
        assert_eq!(decode(&mut buf), Ok(None));
        assert_eq!(buf, b"Content-Len");
    }

    #[test]
    fn header_names_are_case_insensitive_and_others_ignored() {
        let body = r#"{"seq":3,"type":"event","event":"x"}"#;
        let input = format!(
            "content-type: application/json\r\nCONTENT-LENGTH:{}\r\n\r\n{body}",
            body.len()
        );
        let (out, _) = feed_bytewise(input.as_bytes());
        assert_eq!(
            out,
            vec![Ok(Message::Event(Event {
                seq: 3,
                event: "x".into(),
                body: None
            }))]
        );
    }

    #[test]
    fn bodies_with_multibyte_text_use_byte_lengths() {
        let body = r#"{"seq":1,"type":"event","event":"output","body":{"output":"héllo ✓"}}"#;
        let (out, rest) = feed_bytewise(&frame(body));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].is_ok(), "{out:?}");
        assert!(rest.is_empty());
    }

    #[test]
    fn bad_json_is_recoverable_and_the_next_frame_decodes() {
        let mut input = frame("{not json");
        input.extend(frame(r#"{"seq":2,"type":"request","command":"b"}"#));
        let (out, rest) = feed_bytewise(&input);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            matches!(&out[0], Err(CodecError::BadMessage { seq: None, .. })),
            "{out:?}"
        );
        assert_eq!(out[1], Ok(request(2, "b")));
        assert!(rest.is_empty());
    }

    #[test]
    fn bodies_that_are_not_utf8_or_hold_lone_surrogates_keep_their_seq() {
        let mut bytes =
            br#"{"seq":5,"type":"request","command":"evaluate","arguments":{"expression":""#
                .to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(br#""}}"#);
        let mut input = format!("Content-Length: {}\r\n\r\n", bytes.len()).into_bytes();
        input.extend_from_slice(&bytes);
        input.extend(frame(
            r#"{"seq":6,"type":"request","command":"evaluate","arguments":{"expression":"\ud800 \\ud800 \ud83d\ude00"}}"#,
        ));
        input.extend(frame(r#"{"type":"request","command":"x","s":"\udc00"}"#));
        input.extend(frame(r#"{"seq":8,"type":"request","command":"threads"}"#));
        let (out, rest) = feed_bytewise(&input);
        let seqs: Vec<_> = out
            .iter()
            .map(|r| match r {
                Err(CodecError::BadMessage { seq, command, .. }) => (false, *seq, command.clone()),
                Ok(Message::Request(r)) => (true, Some(r.seq), Some(r.command.clone())),
                other => panic!("unexpected: {other:?}"),
            })
            .collect();
        assert_eq!(
            seqs,
            [
                (false, Some(5), Some("evaluate".into())),
                (false, Some(6), Some("evaluate".into())),
                (false, None, Some("x".into())),
                (true, Some(8), Some("threads".into())),
            ]
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn repair_keeps_pairs_and_escaped_backslashes() {
        assert_eq!(repair(br#""\ud83d\ude00""#), r#""\ud83d\ude00""#);
        assert_eq!(repair(br#""\\ud800""#), r#""\\ud800""#);
        assert_eq!(repair(br#""a\ud800b""#), r#""a\ufffdb""#);
        assert_eq!(repair(br#""\udc00\ud800""#), r#""\ufffd\ufffd""#);
        assert_eq!(repair(b"\\"), "\\");
    }

    #[test]
    fn json_that_is_not_a_message_keeps_its_seq_and_command() {
        let (out, _) = feed_bytewise(&frame(r#"{"seq":7,"command":"launch"}"#));
        match &out[..] {
            [Err(CodecError::BadMessage { seq, command, .. })] => {
                assert_eq!(*seq, Some(7));
                assert_eq!(command.as_deref(), Some("launch"));
            }
            other => panic!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn missing_or_bad_content_length_is_fatal() {
        for input in [
            "Content-Type: x\r\n\r\n{}",
            "Content-Length: abc\r\n\r\n{}",
            "Content-Length: -1\r\n\r\n{}",
            "garbage line\r\n\r\n{}",
        ] {
            let (out, _) = feed_bytewise(input.as_bytes());
            match &out[..] {
                [Err(e @ CodecError::BadHeader(_))] => assert!(!e.is_recoverable()),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn non_ascii_header_is_fatal() {
        let (out, _) = feed_bytewise("Cönt: 1\r\n\r\n{}".as_bytes());
        assert!(
            matches!(&out[..], [Err(CodecError::BadHeader(_))]),
            "{out:?}"
        );
    }

    #[test]
    fn length_over_the_cap_is_fatal_without_waiting_for_the_body() {
        let input = format!("Content-Length: {}\r\n\r\n", MAX_CONTENT_LENGTH + 1);
        let (out, _) = feed_bytewise(input.as_bytes());
        assert!(
            matches!(&out[..], [Err(CodecError::TooLong { .. })]),
            "{out:?}"
        );
        let huge = format!("Content-Length: {}\r\n\r\n", usize::MAX);
        let mut buf = huge.into_bytes();
        assert!(matches!(decode(&mut buf), Err(CodecError::TooLong { .. })));
    }

    #[test]
    fn endless_header_is_fatal() {
        let input = vec![b'a'; MAX_HEADER_LENGTH + 2];
        let (out, _) = feed_bytewise(&input);
        assert!(
            matches!(&out[..], [Err(CodecError::BadHeader(_))]),
            "{out:?}"
        );
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let message = Message::Event(Event {
            seq: 9,
            event: "output".into(),
            body: Some(serde_json::json!({"output": "ü\n", "category": "stdout"})),
        });
        let bytes = encode(&message);
        assert!(bytes.starts_with(b"Content-Length: "));
        let (out, rest) = feed_bytewise(&bytes);
        assert_eq!(out, vec![Ok(message)]);
        assert!(rest.is_empty());
    }
}
