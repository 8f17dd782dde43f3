//! The only road from the server thread to Lua: one channel plus one libuv
//! `AsyncHandle`. Tokio code calls [`LuaSender::send`]; the handle's callback
//! runs on Neovim's thread, drains the channel with `try_recv` and hands the
//! batch to `vim.schedule`, where calling Lua and the API is safe.

use std::cell::RefCell;
use std::sync::mpsc::{self, Receiver, Sender};

use nvim_oxi::api::types::LogLevel;
use nvim_oxi::libuv::AsyncHandle;
use nvim_oxi::{Dictionary, Function};

use crate::error::NativeError;
use crate::guard::guarded;

/// How much a message matters; mirrors `vim.log.levels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Connection bookkeeping.
    Debug,
    /// Something the user may like to know.
    Info,
    /// Degraded but working.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    fn log_level(self) -> LogLevel {
        match self {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

/// One line for Lua.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its level.
    pub level: Level,
    /// Its text.
    pub text: String,
}

/// The sending side, cheap to clone and usable from any thread.
#[derive(Clone)]
pub struct LuaSender {
    tx: Sender<Message>,
    wake: AsyncHandle,
}

impl LuaSender {
    /// Queues a message and wakes Neovim's loop; never blocks. If Neovim is
    /// gone the message is dropped, there is nobody to tell.
    pub fn send(&self, level: Level, text: impl Into<String>) {
        let message = Message {
            level,
            text: text.into(),
        };
        if self.tx.send(message).is_ok() {
            // Sends coalesce; the callback drains everything queued so far.
            let _ = self.wake.send();
        }
    }
}

/// The Lua function `on_message(level, text)`, called on Neovim's thread.
type Handler = Function<(String, String), ()>;

thread_local! {
    // Both live on Neovim's main thread only.
    static LUA_SENDER: RefCell<Option<LuaSender>> = const { RefCell::new(None) };
    static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
}

/// Sets (or clears) the Lua handler that receives messages.
pub fn set_handler(handler: Option<Handler>) {
    HANDLER.with(|h| *h.borrow_mut() = handler);
}

/// The sender to Lua, creating the channel and the libuv handle on first use. Must
/// be called on Neovim's thread.
pub fn lua_sender() -> Result<LuaSender, NativeError> {
    LUA_SENDER.with(|cell| {
        if let Some(sender) = cell.borrow().as_ref() {
            return Ok(sender.clone());
        }
        let (tx, rx) = mpsc::channel::<Message>();
        let wake = AsyncHandle::new(move || {
            drain(&rx);
            Ok::<(), std::convert::Infallible>(())
        })?;
        let sender = LuaSender { tx, wake };
        *cell.borrow_mut() = Some(sender.clone());
        Ok(sender)
    })
}

/// Runs in the libuv callback: takes all queued messages without blocking
/// and delivers them on the next safe point of the main loop.
fn drain(rx: &Receiver<Message>) {
    let batch: Vec<Message> = rx.try_iter().collect();
    if batch.is_empty() {
        return;
    }
    nvim_oxi::schedule(move |()| {
        let delivered = guarded(|| {
            deliver(batch);
            Ok(())
        });
        if let Err(err) = delivered {
            nvim_oxi::api::err_writeln(&err.to_string());
        }
    });
}

fn deliver(batch: Vec<Message>) {
    let handler = HANDLER.with(|h| h.borrow().clone());
    for message in batch {
        match &handler {
            Some(handler) => {
                let args = (message.level.name().to_owned(), message.text.clone());
                if let Err(err) = handler.call(args) {
                    nvim_oxi::api::err_writeln(&format!(
                        "hotreload: on_message handler failed: {err} (message was: {})",
                        message.text
                    ));
                }
            }
            None if message.level != Level::Debug => {
                let text = format!("hotreload: {}", message.text);
                if nvim_oxi::api::notify(&text, message.level.log_level(), &Dictionary::new())
                    .is_err()
                {
                    nvim_oxi::api::err_writeln(&text);
                }
            }
            None => {}
        }
    }
}
