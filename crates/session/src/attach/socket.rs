//! The session's end of an attach connection: listening for an agent (one
//! at a time; later ones are refused with a message) or connecting to one,
//! and the greetings. A Unix socket the session creates is private (0600,
//! in a directory that is the user's and 0700).

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use dap::types::OutputEventBody;
use host_protocol::attach::{same_token, Address, Greeting};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::runtime::RuntimeEvent;

/// How long a greeting may take.
const GREETING_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest greeting line read.
const GREETING_MAX: u64 = 64 * 1024;

/// Why attaching failed; `Display` is the message for the user.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("{0}")]
    Arguments(String),
    #[error("{path}: the socket's directory must be private (yours, mode 0700): {why}")]
    NotPrivate { path: String, why: String },
    #[error("cannot listen at {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the agent at {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("no program attached at {addr} within {secs} s")]
    TimedOut { addr: String, secs: f64 },
    #[error("the agent at {addr} refused: {why}")]
    Refused { addr: String, why: String },
    #[error("the peer at {addr} is not a hotreload agent: {why}")]
    NotAnAgent { addr: String, why: String },
}

impl From<AttachError> for host_protocol::HostError {
    fn from(error: AttachError) -> host_protocol::HostError {
        use host_protocol::ErrorKind as K;
        let kind = match &error {
            AttachError::Arguments(_) => K::InvalidArguments,
            AttachError::NotPrivate { .. } | AttachError::Refused { .. } => K::Refused,
            AttachError::Listen { .. } | AttachError::Connect { .. } => K::Io,
            AttachError::TimedOut { .. } => K::TimedOut,
            AttachError::NotAnAgent { .. } => K::InvalidArguments,
        };
        host_protocol::HostError::new(kind, error.to_string())
    }
}

type Reader = Pin<Box<dyn AsyncRead + Send>>;
type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// A greeted connection, its two halves (the reader keeps what it
/// buffered past the greeting).
pub struct Connected {
    read: BufReader<Reader>,
    write: Writer,
}

impl Connected {
    pub fn split(self) -> (BufReader<Reader>, Writer) {
        (self.read, self.write)
    }
}

fn halves_unix(s: UnixStream) -> (BufReader<Reader>, Writer) {
    let (r, w) = s.into_split();
    (BufReader::new(Box::pin(r) as Reader), Box::pin(w) as Writer)
}

fn halves_tcp(s: TcpStream) -> (BufReader<Reader>, Writer) {
    let _ = s.set_nodelay(true);
    let (r, w) = s.into_split();
    (BufReader::new(Box::pin(r) as Reader), Box::pin(w) as Writer)
}

fn session_greeting(token: Option<&str>) -> Greeting {
    Greeting {
        hotreload: "session".into(),
        protocol: host_protocol::PROTOCOL_VERSION,
        token: token.map(str::to_string),
        ..Default::default()
    }
}

async fn write_greeting(w: &mut Writer, g: &Greeting) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(g).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line).await?;
    w.flush().await
}

async fn read_greeting(r: &mut BufReader<Reader>) -> Result<Greeting, String> {
    let mut line = Vec::new();
    let read = async {
        let mut limited = (&mut *r).take(GREETING_MAX);
        limited.read_until(b'\n', &mut line).await
    };
    match tokio::time::timeout(GREETING_TIMEOUT, read).await {
        Err(_) => return Err("it sent no greeting in time".into()),
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(0)) => return Err("it closed the connection".into()),
        Ok(Ok(_)) => {}
    }
    serde_json::from_slice::<Greeting>(&line).map_err(|e| {
        format!(
            "unreadable greeting ({e}): {}",
            String::from_utf8_lossy(&line)
                .trim()
                .chars()
                .take(120)
                .collect::<String>()
        )
    })
}

/// Checks an agent's greeting: it is an agent, it speaks our protocol, and
/// (over TCP) it knows the token.
fn check_agent(g: &Greeting, token: Option<&str>, tcp: bool) -> Result<(), String> {
    if let Some(why) = &g.refused {
        return Err(format!("refused: {why}"));
    }
    if g.hotreload != "agent" {
        return Err("it did not greet as a hotreload agent".into());
    }
    if g.protocol != host_protocol::PROTOCOL_VERSION {
        return Err(format!(
            "it speaks protocol {} (this session speaks {}): use the agent built with this plugin",
            g.protocol,
            host_protocol::PROTOCOL_VERSION
        ));
    }
    if tcp {
        let ok = match (token, g.token.as_deref()) {
            (Some(a), Some(b)) => same_token(a, b),
            _ => false,
        };
        if !ok {
            return Err("it did not present the right token".into());
        }
    }
    Ok(())
}

fn note(events: &mpsc::Sender<RuntimeEvent>, text: String) {
    let _ = events.try_send(RuntimeEvent::Output(OutputEventBody {
        category: Some("console".into()),
        output: text,
        ..Default::default()
    }));
}

/// Waits for an agent to connect and greet; returns it and the task that
/// refuses any later agent while this session lasts.
pub async fn wait_for_agent(
    address: &Address,
    token: Option<String>,
    timeout: Option<Duration>,
    events: mpsc::Sender<RuntimeEvent>,
) -> Result<(Connected, Greeting, Option<tokio::task::JoinHandle<()>>), AttachError> {
    let listener = Listener::bind(address)?;
    let tcp = address.is_tcp();
    let shown = address.to_string();
    // Said once bound: a program started from now on finds the listener.
    note(
        &events,
        format!(
            "hotreload: waiting for a program at {shown} (its agent connects with HOTRELOAD_CONNECT={shown}{})\n",
            if tcp { " and HOTRELOAD_TOKEN" } else { "" }
        ),
    );
    let accept_one = async {
        loop {
            let (mut read, mut write) = match listener.accept().await {
                Ok(halves) => halves,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let greeting = match read_greeting(&mut read).await {
                Ok(g) => g,
                Err(why) => {
                    note(
                        &events,
                        format!("hotreload: ignored a connection at {shown}: {why}\n"),
                    );
                    continue;
                }
            };
            if let Err(why) = check_agent(&greeting, token.as_deref(), tcp) {
                note(
                    &events,
                    format!("hotreload: refused a program at {shown}: {why}\n"),
                );
                let _ = write_greeting(&mut write, &refusal(&why)).await;
                continue;
            }
            if write_greeting(&mut write, &session_greeting(token.as_deref()))
                .await
                .is_err()
            {
                continue;
            }
            return (Connected { read, write }, greeting);
        }
    };
    let (connected, greeting) =
        match timeout {
            Some(limit) => tokio::time::timeout(limit, accept_one).await.map_err(|_| {
                AttachError::TimedOut {
                    addr: shown.clone(),
                    secs: limit.as_secs_f64(),
                }
            })?,
            None => accept_one.await,
        };
    // Later agents are told the session is taken, not left waiting.
    let refuser = tokio::spawn(async move {
        loop {
            let Ok((_read, mut write)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            note(
                &events,
                format!("hotreload: refused a second program at {shown}: one is attached\n"),
            );
            let _ = write_greeting(
                &mut write,
                &refusal("this debugger is already attached to another program"),
            )
            .await;
        }
    });
    Ok((connected, greeting, Some(refuser)))
}

fn refusal(why: &str) -> Greeting {
    Greeting {
        refused: Some(why.to_string()),
        ..Default::default()
    }
}

/// Connects to an agent that listens (trying again until `timeout`, so the
/// program may start a moment later), greets, and checks its greeting.
pub async fn connect_to_agent(
    address: &Address,
    token: Option<String>,
    timeout: Option<Duration>,
) -> Result<(Connected, Greeting), AttachError> {
    let shown = address.to_string();
    let deadline = tokio::time::Instant::now() + timeout.unwrap_or(Duration::ZERO);
    let (mut read, mut write) = loop {
        let attempt = match address {
            Address::Tcp(a) => TcpStream::connect(a).await.map(halves_tcp),
            Address::Unix(p) => UnixStream::connect(p).await.map(halves_unix),
        };
        match attempt {
            Ok(halves) => break halves,
            Err(source) if tokio::time::Instant::now() >= deadline => {
                return Err(AttachError::Connect {
                    addr: shown,
                    source,
                })
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    // The agent greets first; ours follows only if it passes.
    let greeting = read_greeting(&mut read)
        .await
        .map_err(|why| AttachError::NotAnAgent {
            addr: shown.clone(),
            why,
        })?;
    if let Some(why) = greeting.refused.clone() {
        return Err(AttachError::Refused { addr: shown, why });
    }
    check_agent(&greeting, token.as_deref(), address.is_tcp()).map_err(|why| {
        AttachError::NotAnAgent {
            addr: shown.clone(),
            why,
        }
    })?;
    write_greeting(&mut write, &session_greeting(token.as_deref()))
        .await
        .map_err(|source| AttachError::Connect {
            addr: shown.clone(),
            source,
        })?;
    Ok((Connected { read, write }, greeting))
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, std::path::PathBuf),
}

impl Listener {
    fn bind(address: &Address) -> Result<Listener, AttachError> {
        let err = |source| AttachError::Listen {
            addr: address.to_string(),
            source,
        };
        match address {
            Address::Tcp(a) => {
                let std = std::net::TcpListener::bind(a).map_err(err)?;
                std.set_nonblocking(true).map_err(err)?;
                Ok(Listener::Tcp(TcpListener::from_std(std).map_err(err)?))
            }
            Address::Unix(path) => {
                private_dir(path)?;
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if meta.file_type().is_socket()
                        && std::os::unix::net::UnixStream::connect(path).is_err()
                    {
                        let _ = std::fs::remove_file(path);
                    }
                }
                let listener = UnixListener::bind(path).map_err(err)?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(err)?;
                Ok(Listener::Unix(listener, path.clone()))
            }
        }
    }

    async fn accept(&self) -> std::io::Result<(BufReader<Reader>, Writer)> {
        match self {
            Listener::Tcp(l) => Ok(halves_tcp(l.accept().await?.0)),
            Listener::Unix(l, _) => Ok(halves_unix(l.accept().await?.0)),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The socket's directory: created 0700 when missing; else it must be the
/// user's with no access for others.
fn private_dir(path: &Path) -> Result<(), AttachError> {
    let not_private = |why: String| AttachError::NotPrivate {
        path: path.display().to_string(),
        why,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| not_private(format!("cannot create it: {e}")))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| not_private(e.to_string()))?;
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
