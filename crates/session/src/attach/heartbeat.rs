//! Telling a frozen program from a busy one. The agent's socket thread
//! writes an empty line every second whatever the program's Lua does (busy
//! in C, stopped at a breakpoint), so silence on the connection means the
//! whole process is not running: stopped (SIGSTOP, a debugger), hung in
//! the kernel, or swapped to death. After [`silence_limit`] of it the
//! session ends; the program is left as it is.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, ReadBuf};

/// How long the connection may stay silent, generous: a loaded machine
/// delays a heartbeat by seconds, not by this. `HOTRELOAD_ATTACH_SILENCE`
/// (seconds) overrides it (tests).
pub fn silence_limit() -> Duration {
    std::env::var("HOTRELOAD_ATTACH_SILENCE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::from_secs(30), |s| {
            Duration::from_secs_f64(s.min(1e6))
        })
}

/// When bytes last arrived.
#[derive(Clone)]
pub struct LastHeard(Arc<Mutex<Instant>>);

impl LastHeard {
    pub fn now() -> LastHeard {
        LastHeard(Arc::new(Mutex::new(Instant::now())))
    }

    fn touch(&self) {
        if let Ok(mut last) = self.0.lock() {
            *last = Instant::now();
        }
    }

    /// How long nothing arrived.
    pub fn silent_for(&self) -> Duration {
        self.0.lock().map_or(Duration::ZERO, |last| last.elapsed())
    }

    /// Returns once nothing arrived for `limit` (checked every second).
    pub async fn until_silent_for(&self, limit: Duration) {
        loop {
            let silent = self.silent_for();
            if silent >= limit {
                return;
            }
            tokio::time::sleep((limit - silent).min(Duration::from_secs(1))).await;
        }
    }
}

/// A reader that notes when it last read something.
pub struct Watched<R> {
    inner: R,
    heard: LastHeard,
}

impl<R> Watched<R> {
    pub fn new(inner: R, heard: LastHeard) -> Watched<R> {
        Watched { inner, heard }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Watched<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.heard.touch();
        }
        poll
    }
}
