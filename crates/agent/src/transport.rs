//! Where the session is: an address (`host:port` on loopback, or the path
//! of a Unix socket), the connection to it, and the one-line greetings both
//! sides exchange before the host protocol starts (the agent's names the
//! program and, over TCP, presents the token).

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use host_protocol::attach::Address;
use host_protocol::attach::Greeting;

/// How long a greeting may take before the other side counts as silent.
const GREETING_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest greeting line read.
const GREETING_MAX: u64 = 64 * 1024;

/// Why the agent cannot use an address or a connection.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Address(#[from] host_protocol::attach::AddressError),
    #[error("{0}: a TCP address needs a token (start's `token` or HOTRELOAD_TOKEN)")]
    NeedsToken(String),
    #[error("{path}: the socket's directory must be private (mode 0700, yours): {why}")]
    NotPrivate { path: String, why: String },
    #[error("{what} {addr}: {source}")]
    Io {
        what: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("the debugger refused this program: {0}")]
    Refused(String),
    #[error("the other side did not greet as a hotreload session: {0}")]
    BadGreeting(String),
}

/// One connection, either kind.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub fn try_clone(&self) -> std::io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }

    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// Connects to a session that listens.
pub fn connect(addr: &Address) -> Result<Stream, TransportError> {
    let io = |source| TransportError::Io {
        what: "cannot connect to",
        addr: addr.to_string(),
        source,
    };
    Ok(match addr {
        Address::Tcp(a) => {
            let s = TcpStream::connect_timeout(a, Duration::from_secs(5)).map_err(io)?;
            let _ = s.set_nodelay(true);
            Stream::Tcp(s)
        }
        Address::Unix(p) => Stream::Unix(UnixStream::connect(p).map_err(io)?),
    })
}

/// A listening socket, either kind.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    pub fn accept(&self) -> std::io::Result<Stream> {
        Ok(match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
            Listener::Unix(l, _) => Stream::Unix(l.accept()?.0),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = fs::remove_file(path);
        }
    }
}

/// Listens at `addr`; a Unix socket is made private (0600, in a directory
/// only the user can enter, created 0700 when missing).
pub fn listen(addr: &Address) -> Result<Listener, TransportError> {
    let io = |source| TransportError::Io {
        what: "cannot listen at",
        addr: addr.to_string(),
        source,
    };
    match addr {
        Address::Tcp(a) => Ok(Listener::Tcp(TcpListener::bind(a).map_err(io)?)),
        Address::Unix(path) => {
            private_dir(path)?;
            if let Ok(meta) = fs::symlink_metadata(path) {
                // A socket left by an earlier run; anything else stays.
                if meta.file_type().is_socket() && UnixStream::connect(path).is_err() {
                    let _ = fs::remove_file(path);
                }
            }
            let listener = UnixListener::bind(path).map_err(io)?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io)?;
            Ok(Listener::Unix(listener, path.clone()))
        }
    }
}

/// Checks (or creates) the socket's directory: ours, mode 0700.
fn private_dir(path: &Path) -> Result<(), TransportError> {
    let not_private = |why: String| TransportError::NotPrivate {
        path: path.display().to_string(),
        why,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| not_private(format!("cannot create it: {e}")))?;
    }
    let meta = fs::metadata(dir).map_err(|e| not_private(e.to_string()))?;
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid {
        return Err(not_private(format!(
            "{} belongs to another user",
            dir.display()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(not_private(format!(
            "{} has mode {:o}",
            dir.display(),
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

/// The agent's greeting: who it is, and the token when there is one.
pub fn agent_greeting(token: Option<&str>, lua: &str) -> Greeting {
    Greeting {
        hotreload: "agent".into(),
        protocol: host_protocol::PROTOCOL_VERSION,
        token: token.map(str::to_string),
        lua: Some(lua.to_string()),
        pid: Some(std::process::id()),
        program: Some(std::env::args().collect::<Vec<_>>().join(" ")),
        refused: None,
    }
}

/// Writes one greeting line.
pub fn write_greeting(stream: &mut Stream, greeting: &Greeting) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(greeting).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    stream.flush()
}

/// Refuses a connection with a reason, then closes it.
pub fn refuse(mut stream: Stream, why: &str) {
    let _ = write_greeting(
        &mut stream,
        &Greeting {
            refused: Some(why.to_string()),
            ..Default::default()
        },
    );
    stream.shutdown();
}

/// Reads the session's greeting (within [`GREETING_TIMEOUT`]): its token
/// (if any), or the refusal it sent.
pub fn read_session_greeting(stream: &Stream) -> Result<Option<String>, TransportError> {
    let read = stream.try_clone().map_err(|e| TransportError::Io {
        what: "cannot read from",
        addr: "the session".into(),
        source: e,
    })?;
    let _ = read.set_read_timeout(Some(GREETING_TIMEOUT));
    // Byte by byte: the session's first request may follow in the same
    // packet, and it belongs to the protocol reader.
    let mut reader = read.take(GREETING_MAX);
    let mut line = Vec::new();
    let got = read_one_line(&mut reader, &mut line);
    let _ = stream.set_read_timeout(None);
    match got {
        Ok(0) => return Err(TransportError::BadGreeting("the connection closed".into())),
        Err(e) => return Err(TransportError::BadGreeting(e.to_string())),
        Ok(_) => {}
    }
    let greeting: Greeting =
        serde_json::from_slice(&line).map_err(|e| TransportError::BadGreeting(e.to_string()))?;
    if let Some(why) = greeting.refused {
        return Err(TransportError::Refused(why));
    }
    if greeting.hotreload != "session" {
        return Err(TransportError::BadGreeting(
            String::from_utf8_lossy(&line).chars().take(200).collect(),
        ));
    }
    Ok(greeting.token)
}

fn read_one_line(reader: &mut impl Read, line: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut byte = [0u8; 1];
    loop {
        match reader.read(&mut byte)? {
            0 => return Ok(line.len()),
            _ if byte[0] == b'\n' => return Ok(line.len() + 1),
            _ => line.push(byte[0]),
        }
    }
}
