//! The in-process DAP server: a tokio runtime on its own std thread accepting
//! connections on a private Unix socket; each connection is one debug session.
//!
//! Nothing here touches Neovim's API: everything meant for Lua goes through
//! the [`Outbox`]. Starting binds the socket synchronously (so errors reach
//! the caller); stopping only signals the thread and never waits for it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use session::SessionConfig;
use tokio::sync::oneshot;

use crate::bridge::{Level, Outbox};
use crate::error::NativeError;
use crate::socket_dir;

/// How long sessions get to end their hosts when the server stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What [`Server::start`] needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the host binaries are; `None` lets the session decide.
    pub host_dir: Option<PathBuf>,
    /// The private directory for the socket.
    pub socket_dir: PathBuf,
    /// Where sessions append a transcript of their DAP traffic.
    pub log: Option<session::TranscriptLog>,
}

/// A running server; dropping it does not stop it, [`Server::stop`] does.
pub struct Server {
    pipe: PathBuf,
    connections: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Server {
    /// Binds the socket and starts the server thread.
    pub fn start(config: ServerConfig, outbox: Outbox) -> Result<Server, NativeError> {
        socket_dir::ensure_private(&config.socket_dir)?;
        socket_dir::remove_stale_sockets(&config.socket_dir);
        let pipe = socket_path(&config.socket_dir);
        let listener = bind(&pipe)?;
        // Without a server behind it the socket must not stay.
        let unlink_on_error = |err: NativeError| {
            let _ = std::fs::remove_file(&pipe);
            err
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hotreload-session")
            .enable_all()
            .build()
            .map_err(|e| unlink_on_error(NativeError::Start(e.to_string())))?;
        let connections = Arc::new(AtomicUsize::new(0));
        let (shutdown, shutdown_rx) = oneshot::channel();
        let task = AcceptLoop {
            pipe: pipe.clone(),
            session: SessionConfig {
                host_dir: config.host_dir,
                log: config.log,
            },
            outbox,
            connections: Arc::clone(&connections),
        };
        std::thread::Builder::new()
            .name("hotreload-server".into())
            .spawn(move || task.run(runtime, listener, shutdown_rx))
            .map_err(|e| unlink_on_error(NativeError::Start(e.to_string())))?;
        Ok(Server {
            pipe,
            connections,
            shutdown: Some(shutdown),
        })
    }

    /// The socket clients connect to.
    pub fn pipe(&self) -> &Path {
        &self.pipe
    }

    /// How many clients are connected right now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Asks the server thread to stop; returns at once.
    pub fn stop(mut self) {
        // Unlink now (cheap, no waiting): Neovim may exit before the server
        // thread gets to it. Failure only leaves a file `start` cleans up.
        let _ = std::fs::remove_file(&self.pipe);
        if let Some(tx) = self.shutdown.take() {
            // An error means the thread already ended; nothing to stop.
            let _ = tx.send(());
        }
    }
}

/// A fresh socket name per server, so a stopping server cleaning up its socket
/// never removes the next one's.
fn socket_path(dir: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("nvim-{}-{n}.sock", std::process::id()))
}

fn bind(pipe: &Path) -> Result<std::os::unix::net::UnixListener, NativeError> {
    let io = |what: &'static str| {
        let path = pipe.to_owned();
        move |source| NativeError::Io { what, path, source }
    };
    // A socket left by a crashed Neovim with a recycled pid.
    if std::fs::symlink_metadata(pipe).is_ok() {
        std::fs::remove_file(pipe).map_err(io("cannot remove stale socket"))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(pipe).map_err(io("cannot listen on"))?;
    std::fs::set_permissions(pipe, std::fs::Permissions::from_mode(0o600))
        .map_err(io("cannot restrict"))?;
    listener
        .set_nonblocking(true)
        .map_err(io("cannot make non-blocking"))?;
    Ok(listener)
}

/// Whether a session ended because its client closed the connection: the
/// normal end of a session (nvim-dap closes its pipe as soon as it has seen
/// `terminated`, or on `dap.close()`), not an error to show in red.
fn client_hung_up(err: &session::SessionError) -> bool {
    use std::io::ErrorKind;
    match err {
        session::SessionError::Io(io) => matches!(
            io.kind(),
            ErrorKind::BrokenPipe
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

struct AcceptLoop {
    pipe: PathBuf,
    session: SessionConfig,
    outbox: Outbox,
    connections: Arc<AtomicUsize>,
}

impl AcceptLoop {
    fn run(
        self,
        runtime: tokio::runtime::Runtime,
        listener: std::os::unix::net::UnixListener,
        shutdown: oneshot::Receiver<()>,
    ) {
        let pipe = self.pipe.clone();
        let outbox = self.outbox.clone();
        runtime.block_on(self.accept(listener, shutdown));
        runtime.shutdown_timeout(SHUTDOWN_GRACE);
        match std::fs::remove_file(&pipe) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => outbox.send(
                Level::Debug,
                format!("cannot remove {}: {err}", pipe.display()),
            ),
            // Removed, or `stop` already did.
            _ => {}
        }
        outbox.send(Level::Debug, "server stopped");
    }

    async fn accept(
        self,
        listener: std::os::unix::net::UnixListener,
        mut shutdown: oneshot::Receiver<()>,
    ) {
        let listener = match tokio::net::UnixListener::from_std(listener) {
            Ok(listener) => listener,
            Err(err) => {
                self.outbox
                    .send(Level::Error, format!("server cannot listen: {err}"));
                return;
            }
        };
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => self.spawn_session(stream),
                    Err(err) => {
                        self.outbox.send(Level::Warn, format!("accept failed: {err}"));
                        // Out of descriptors and the like: do not spin.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
    }

    fn spawn_session(&self, stream: tokio::net::UnixStream) {
        let (reader, writer) = stream.into_split();
        let config = self.session.clone();
        let outbox = self.outbox.clone();
        let connections = Arc::clone(&self.connections);
        let n = connections.fetch_add(1, Ordering::Relaxed) + 1;
        outbox.send(Level::Debug, format!("client connected ({n} open)"));
        tokio::spawn(async move {
            let result = session::serve(reader, writer, config).await;
            let left = connections
                .fetch_sub(1, Ordering::Relaxed)
                .saturating_sub(1);
            match result {
                Ok(()) => outbox.send(Level::Debug, format!("client left ({left} open)")),
                Err(err) if client_hung_up(&err) => {
                    outbox.send(Level::Debug, format!("client left ({left} open): {err}"))
                }
                Err(err) => outbox.send(Level::Error, format!("session ended: {err}")),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::client_hung_up;
    use session::SessionError;
    use std::io::{Error, ErrorKind};

    #[test]
    fn a_client_that_hangs_up_is_a_normal_end() {
        for kind in [
            ErrorKind::BrokenPipe,
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionAborted,
            ErrorKind::UnexpectedEof,
        ] {
            assert!(
                client_hung_up(&SessionError::Io(Error::from(kind))),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn other_failures_are_still_errors() {
        for kind in [
            ErrorKind::PermissionDenied,
            ErrorKind::InvalidData,
            ErrorKind::Other,
        ] {
            assert!(
                !client_hung_up(&SessionError::Io(Error::from(kind))),
                "{kind:?}"
            );
        }
    }
}
