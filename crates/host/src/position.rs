//! Where a Lua error happened, read once, here, from the position Lua puts
//! in front of its messages (`chunkname:line: reason`, `luaL_where`), so
//! that everything downstream reads a location instead of the message.

use host_protocol::{ErrorKind, HostError};

/// The chunk and line a Lua message starts with: `("m.lua", 3)` for
/// `m.lua:3: '=' expected`. `None` for a message without a position and
/// for chunks that are not files (`[string "..."]`, `=stdin`).
pub fn lua_position(message: &str) -> Option<(&str, i64)> {
    split(message).map(|(chunk, line, _)| (chunk, line))
}

/// The chunk, the line and the rest (the reason) of a positioned message.
fn split(message: &str) -> Option<(&str, i64, &str)> {
    // The first `:<digits>:` is the position's end: a path may hold colons
    // but not that (Windows drive letters are not ours to meet).
    let bytes = message.as_bytes();
    let mut from = 0;
    while let Some(colon) = message[from..].find(':').map(|i| i + from) {
        let digits = bytes[colon + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = colon + 1 + digits;
        if digits > 0 && bytes.get(end) == Some(&b':') {
            let chunk = &message[..colon];
            let line = message[colon + 1..end].parse().ok()?;
            let file = !chunk.is_empty() && !chunk.starts_with('[') && !chunk.contains('\n');
            let rest = message[end + 1..].trim_start();
            return file.then_some((chunk, line, rest));
        }
        from = colon + 1;
    }
    None
}

/// A Lua error of `kind` located where its message says, with `file` (the
/// file the request was about) standing for the chunk name when the message
/// names it, or its tail (Lua shortens long names to `...tail`).
pub fn located(kind: ErrorKind, message: String, file: Option<&str>) -> HostError {
    let at = lua_position(&message).map(|(chunk, line)| {
        let path = match file {
            Some(file) if names_file(chunk, file) => file.to_string(),
            _ => chunk.to_string(),
        };
        (path, line)
    });
    let reason = split(&message).map(|(_, _, rest)| rest.to_string());
    let error = HostError::new(kind, message.clone()).because(reason);
    match (at, file) {
        (Some((path, line)), _) => error.at(path, Some(line)),
        (None, Some(file)) => error.at(file, None),
        (None, None) => error,
    }
}

/// Whether Lua's chunk id `chunk` stands for `file`.
fn names_file(chunk: &str, file: &str) -> bool {
    match chunk.strip_prefix("...") {
        Some(tail) => file.ends_with(tail),
        None => chunk == file || file.ends_with(&format!("/{chunk}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_from_luas_prefix() {
        assert_eq!(
            lua_position("/p/m.lua:3: '=' expected near 'x'"),
            Some(("/p/m.lua", 3))
        );
        assert_eq!(
            lua_position("./a:b.lua:12: attempt to call a nil value (field 'x')"),
            Some(("./a:b.lua", 12))
        );
        assert_eq!(lua_position("[string \"x = \"]:1: unexpected symbol"), None);
        assert_eq!(lua_position("plain words: no position"), None);
        assert_eq!(lua_position("m.lua:: odd"), None);
    }

    #[test]
    fn the_requested_file_stands_for_its_chunk_name() {
        let long = "/a/very/long/directory/name/that/lua/shortens/for/its/messages/mod.lua";
        let error = located(
            ErrorKind::Compile,
            "...ong/directory/name/that/lua/shortens/for/its/messages/mod.lua:4: oops".into(),
            Some(long),
        );
        assert_eq!(error.reason.as_deref(), Some("oops"));
        let at = error.location.expect("located");
        assert_eq!((at.path.as_str(), at.line), (long, Some(4)));
        let elsewhere = located(
            ErrorKind::Runtime,
            "/x/other.lua:9: boom".into(),
            Some(long),
        );
        assert_eq!(
            elsewhere.location.map(|l| l.path),
            Some("/x/other.lua".into())
        );
        let unplaced = located(ErrorKind::Runtime, "boom".into(), Some(long));
        assert_eq!(
            unplaced.location.map(|l| (l.path, l.line)),
            Some((long.into(), None))
        );
    }
}
