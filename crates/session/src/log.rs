//! An optional transcript of the session (DAP traffic and notes), for
//! debugging the adapter itself. Writes are small and synchronous.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A shared, append-only log file; cloning shares the file.
#[derive(Debug, Clone)]
pub struct TranscriptLog {
    file: Arc<Mutex<File>>,
}

impl TranscriptLog {
    /// Opens (creating or appending to) the log at `path`.
    pub fn open(path: &Path) -> std::io::Result<TranscriptLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(TranscriptLog {
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Appends one line; write errors are ignored (logging must never break
    /// the session).
    pub fn line(&self, direction: &str, text: &str) {
        if let Ok(mut file) = self.file.lock() {
            let _ = writeln!(file, "{direction} {text}");
        }
    }
}

/// Logs to an optional transcript.
pub(crate) fn note(log: &Option<TranscriptLog>, direction: &str, text: &str) {
    if let Some(log) = log {
        log.line(direction, text);
    }
}
