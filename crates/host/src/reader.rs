//! The protocol reader thread: reads requests from the session and hands
//! them to `dispatch` (answer, or queue and interrupt). End of input ends
//! the host.

use std::fs::File;
use std::io::{BufRead, BufReader};

use crate::dispatch;
use crate::io;

/// Starts the reader thread on the protocol input.
pub fn spawn(input: File) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("protocol-reader".into())
        .spawn(move || {
            let reader = BufReader::new(input);
            for line in reader.split(b'\n') {
                let Ok(line) = line else { break };
                dispatch::guarded(&line, "hotreload-host", |line| {
                    if let Some(request) = dispatch::parse(line, "hotreload-host") {
                        dispatch::route(request);
                    }
                });
            }
            // The session is gone: so is the program.
            io::exit_now();
        })?;
    Ok(())
}
