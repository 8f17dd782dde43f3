//! Attach: how an agent inside a program and a session find each other.
//! Both sides parse addresses here and exchange one greeting line each
//! before the host protocol starts (pure data; the sockets are theirs).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where one side listens and the other connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `host:port` on loopback.
    Tcp(SocketAddr),
    /// The path of a Unix socket (private to the user).
    Unix(PathBuf),
}

/// Why text is not an attach address; `Display` is the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// Neither a path nor `host:port`.
    NotAnAddress(String),
    /// `host:port` whose host is not loopback.
    NotLoopback(String),
}

impl std::fmt::Display for AddressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddressError::NotAnAddress(t) => write!(
                f,
                "'{t}' is not an address: use host:port on loopback, or the path of a Unix socket"
            ),
            AddressError::NotLoopback(t) => write!(
                f,
                "'{t}': only loopback addresses are allowed (127.0.0.1, ::1, localhost)"
            ),
        }
    }
}

impl std::error::Error for AddressError {}

impl Address {
    /// A path when the text contains a `/`, else `host:port` whose host is
    /// a loopback IP or `localhost`; nothing else.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        if text.contains('/') {
            return Ok(Address::Unix(PathBuf::from(text)));
        }
        let bad = || AddressError::NotAnAddress(text.to_string());
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip: IpAddr = if host == "localhost" {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.parse().map_err(|_| bad())?
        };
        if !ip.is_loopback() {
            return Err(AddressError::NotLoopback(text.to_string()));
        }
        Ok(Address::Tcp(SocketAddr::new(ip, port)))
    }

    /// Whether a token is needed (TCP: any local user can connect).
    pub fn is_tcp(&self) -> bool {
        matches!(self, Address::Tcp(_))
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "{a}"),
            Address::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The first line each side sends. The agent's names the program; over TCP
/// both carry the token, and each side checks the other's. A side that
/// will not go on sends `refused` instead and closes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Greeting {
    /// `"agent"` or `"session"`.
    #[serde(default)]
    pub hotreload: String,
    /// [`crate::PROTOCOL_VERSION`] of the sender.
    #[serde(default)]
    pub protocol: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The agent's Lua (`_VERSION`, and `LuaJIT 2.1` where it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lua: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The program's command line, as the agent sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Why the sender will not go on (then nothing else is read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Compares two tokens without stopping at the first difference.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_loopback_or_paths() {
        assert!(matches!(
            Address::parse("127.0.0.1:8172"),
            Ok(Address::Tcp(_))
        ));
        assert!(matches!(Address::parse("localhost:1"), Ok(Address::Tcp(_))));
        assert!(matches!(Address::parse("[::1]:9"), Ok(Address::Tcp(_))));
        assert_eq!(
            Address::parse("/tmp/x/s"),
            Ok(Address::Unix(PathBuf::from("/tmp/x/s")))
        );
        assert!(matches!(
            Address::parse("10.0.0.1:80"),
            Err(AddressError::NotLoopback(_))
        ));
        assert!(matches!(
            Address::parse("0.0.0.0:80"),
            Err(AddressError::NotLoopback(_))
        ));
        for bad in ["nonsense", "127.0.0.1:99999", "example.com:80", ":80", ""] {
            let err = Address::parse(bad).expect_err(bad);
            assert!(matches!(err, AddressError::NotAnAddress(_)), "{bad}: {err}");
            assert!(err.to_string().contains("Unix socket"));
        }
    }

    #[test]
    fn tokens() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
    }

    #[test]
    fn greetings_round_trip() {
        let g: Greeting = serde_json::from_str(r#"{"refused":"busy"}"#).expect("a greeting");
        assert_eq!(g.refused.as_deref(), Some("busy"));
        let s = serde_json::to_string(&Greeting {
            hotreload: "session".into(),
            protocol: 1,
            ..Default::default()
        })
        .expect("serializes");
        assert_eq!(s, r#"{"hotreload":"session","protocol":1}"#);
    }
}
