//! Base64 VLQ, the number encoding of a V3 map's `mappings` string, and the
//! plain base64 of `data:` URLs.

use crate::Error;

fn base64_digit(byte: u8) -> Option<u32> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Decodes the VLQ numbers of one segment (`"AAgBC"` -> `[0, 0, 16, 1]`).
/// Values must fit an `i64` after decoding; longer runs are refused rather
/// than wrapped.
pub fn decode_segment(segment: &str) -> Result<Vec<i64>, Error> {
    let mut values = Vec::with_capacity(5);
    let mut accumulated: u64 = 0;
    let mut shift: u32 = 0;
    let mut pending = false;
    for byte in segment.bytes() {
        let digit = base64_digit(byte).ok_or_else(|| {
            Error::Mappings(format!("'{}' is not a base64 digit", char::from(byte)))
        })?;
        if shift > 60 {
            return Err(Error::Mappings(format!(
                "a number in segment '{segment}' is too long"
            )));
        }
        accumulated |= u64::from(digit & 0b1_1111) << shift;
        pending = true;
        if digit & 0b10_0000 != 0 {
            shift += 5;
            continue;
        }
        let magnitude = i64::try_from(accumulated >> 1)
            .map_err(|_| Error::Mappings(format!("a number in '{segment}' is too large")))?;
        values.push(if accumulated & 1 == 1 {
            -magnitude
        } else {
            magnitude
        });
        accumulated = 0;
        shift = 0;
        pending = false;
    }
    if pending {
        return Err(Error::Mappings(format!(
            "segment '{segment}' ends inside a number"
        )));
    }
    Ok(values)
}

/// Decodes standard (or URL-safe) base64, padding optional, whitespace ignored.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut bits: u32 = 0;
    let mut count = 0u32;
    for byte in text.bytes() {
        if byte == b'=' {
            break;
        }
        if byte.is_ascii_whitespace() {
            continue;
        }
        let digit = base64_digit(byte)
            .ok_or_else(|| Error::DataUrl(format!("'{}' is not base64", char::from(byte))))?;
        bits = (bits << 6) | digit;
        count += 1;
        if count == 4 {
            out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
            bits = 0;
            count = 0;
        }
    }
    match count {
        0 => {}
        2 => out.push((bits >> 4) as u8),
        3 => out.extend_from_slice(&[(bits >> 10) as u8, (bits >> 2) as u8]),
        _ => return Err(Error::DataUrl("truncated base64".into())),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_single_and_multi_digit_numbers() {
        assert_eq!(decode_segment("AAAA").ok(), Some(vec![0, 0, 0, 0]));
        assert_eq!(decode_segment("C").ok(), Some(vec![1]));
        assert_eq!(decode_segment("D").ok(), Some(vec![-1]));
        // 16 needs a continuation digit: 16 << 1 = 32 -> "gB".
        assert_eq!(decode_segment("gB").ok(), Some(vec![16]));
        assert_eq!(decode_segment("hB").ok(), Some(vec![-16]));
        assert_eq!(decode_segment("AAgBC").ok(), Some(vec![0, 0, 16, 1]));
        // 1000 = 0b1111101000 -> shifted 2000.
        assert_eq!(decode_segment("w+B").ok(), Some(vec![1000]));
    }

    #[test]
    fn refuses_bad_digits_truncation_and_overflow() {
        assert!(matches!(decode_segment("A!"), Err(Error::Mappings(m)) if m.contains("'!'")));
        assert!(
            matches!(decode_segment("g"), Err(Error::Mappings(m)) if m.contains("ends inside"))
        );
        let long = "g".repeat(20) + "B";
        assert!(matches!(decode_segment(&long), Err(Error::Mappings(m)) if m.contains("too long")));
    }

    #[test]
    fn decodes_base64_with_and_without_padding() {
        assert_eq!(decode_base64("aGk=").ok(), Some(b"hi".to_vec()));
        assert_eq!(decode_base64("aGk").ok(), Some(b"hi".to_vec()));
        assert_eq!(decode_base64("aGV5").ok(), Some(b"hey".to_vec()));
        assert_eq!(decode_base64("aA==").ok(), Some(b"h".to_vec()));
        assert!(decode_base64("a").is_err());
        assert!(decode_base64("a*bc").is_err());
    }
}
