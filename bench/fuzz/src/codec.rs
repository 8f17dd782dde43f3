//! The codec: streams of good, bad and broken frames, fed in random
//! chunks as a session reads them. Checks: no panic; `Ok(None)` consumes
//! nothing; every good frame decodes to what was sent; a bad body is
//! recoverable and keeps its `seq` when it had a readable one; the stream
//! stops only at broken framing.

use dap::{CodecError, Message};

use crate::rng::Rng;

/// What a generated frame should decode to.
enum Expect {
    Request { seq: i64, command: String },
    Bad { seq: Option<i64> },
    Recoverable,
    Fatal,
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn generate(rng: &mut Rng) -> (Vec<u8>, Expect) {
    let seq = rng.edgy_i64();
    let command = rng.text();
    match rng.below(10) {
        0..=2 => {
            let body = serde_json::json!({"seq": seq, "type": "request", "command": command,
                "arguments": rng.json(3)});
            let bytes = body.to_string().into_bytes();
            let mut framed = if rng.one_in(4) {
                // Other headers and odd spellings are allowed.
                let mut out = format!(
                    "content-type: application/json\r\nCONTENT-length:{}\r\n\r\n",
                    bytes.len()
                )
                .into_bytes();
                out.extend_from_slice(&bytes);
                out
            } else {
                frame(&bytes)
            };
            framed.shrink_to_fit();
            (framed, Expect::Request { seq, command })
        }
        3 => {
            // Not UTF-8 inside a string: answerable by seq.
            let mut body =
                format!(r#"{{"seq":{seq},"type":"request","command":"x","arguments":{{"e":""#)
                    .into_bytes();
            body.extend_from_slice(&[0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
            body.extend_from_slice(br#""}}"#);
            (frame(&body), Expect::Bad { seq: Some(seq) })
        }
        4 => {
            let escape = *rng.pick(&[r"\ud800", r"\udfff", r"\ud83d", r"\udc00\ud800"]);
            let body = format!(
                r#"{{"seq":{seq},"type":"request","command":"x","arguments":{{"e":"a{escape}b"}}}}"#
            );
            (frame(body.as_bytes()), Expect::Bad { seq: Some(seq) })
        }
        5 => {
            // Random bytes or a truncated JSON body: skipped.
            let n = rng.below(64);
            let body: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            (frame(&body), Expect::Recoverable)
        }
        6 => {
            // Valid JSON that is not a usable message.
            let body = rng.json(3).to_string();
            (frame(body.as_bytes()), Expect::Recoverable)
        }
        7 => {
            let body = serde_json::json!({"seq": rng.text(), "type": "request", "command": "x"});
            (
                frame(body.to_string().as_bytes()),
                Expect::Bad { seq: None },
            )
        }
        8 => {
            let header = match rng.below(5) {
                0 => "Content-Length: -3\r\n\r\n".to_owned(),
                1 => format!(
                    "Content-Length: {}\r\n\r\n",
                    dap::codec::MAX_CONTENT_LENGTH + 1
                ),
                2 => "Content-Lenght: 2\r\n\r\n{}".to_owned(),
                3 => "Content-Length: 99999999999999999999999\r\n\r\n".to_owned(),
                _ => "garbage\r\n\r\n".to_owned(),
            };
            (header.into_bytes(), Expect::Fatal)
        }
        _ => {
            let mut bytes = vec![b'H'; dap::codec::MAX_HEADER_LENGTH + 1 + rng.below(10)];
            bytes.extend_from_slice(b"\r\n\r\n");
            (bytes, Expect::Fatal)
        }
    }
}

/// Runs one stream of up to `frames` frames; returns how many were fed.
pub fn case(rng: &mut Rng, frames: usize) -> Result<usize, String> {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..frames {
        let (bytes, expect) = generate(rng);
        let fatal = matches!(expect, Expect::Fatal);
        stream.extend_from_slice(&bytes);
        expected.push(expect);
        if fatal {
            break;
        }
    }
    let mut buf = Vec::new();
    let mut got: Vec<Result<Message, CodecError>> = Vec::new();
    let mut at = 0;
    'feed: while at < stream.len() {
        let small = rng.one_in(3);
        let n = 1 + rng.below(if small { 8 } else { 4096 });
        let end = (at + n).min(stream.len());
        buf.extend_from_slice(&stream[at..end]);
        at = end;
        loop {
            let before = buf.len();
            match dap::decode(&mut buf) {
                Ok(None) => {
                    if buf.len() != before {
                        return Err("Ok(None) consumed bytes".into());
                    }
                    break;
                }
                Ok(Some(m)) => got.push(Ok(m)),
                Err(e) => {
                    let stop = !e.is_recoverable();
                    got.push(Err(e));
                    if stop {
                        break 'feed;
                    }
                }
            }
        }
    }
    if got.len() != expected.len() {
        return Err(format!(
            "{} frames decoded into {} results",
            expected.len(),
            got.len()
        ));
    }
    for (i, (result, expect)) in got.iter().zip(&expected).enumerate() {
        let ok = match (expect, result) {
            (Expect::Request { seq, command }, Ok(Message::Request(r))) => {
                r.seq == *seq && r.command == *command
            }
            (Expect::Bad { seq }, Err(CodecError::BadMessage { seq: s, .. })) => s == seq,
            (Expect::Recoverable, Err(e)) => e.is_recoverable(),
            // Random JSON can happen to be a valid event or response.
            (Expect::Recoverable, Ok(_)) => true,
            (Expect::Fatal, Err(e)) => !e.is_recoverable(),
            _ => false,
        };
        if !ok {
            return Err(format!("frame {i}: unexpected {result:?}"));
        }
    }
    Ok(expected.len())
}
