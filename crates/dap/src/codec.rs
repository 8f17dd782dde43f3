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
    let value: Value = serde_json::from_slice(body).map_err(|e| CodecError::BadMessage {
        seq: None,
        command: None,
        reason: format!("invalid JSON: {e}"),
    })?;
    let seq = value.get("seq").and_then(Value::as_i64);
    let command = value
        .get("command")
        .and_then(Value::as_str)
        .map(str::to_owned);
    serde_json::from_value(value).map_err(|e| CodecError::BadMessage {
        seq,
        command,
        reason: format!("not a DAP message: {e}"),
    })
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
