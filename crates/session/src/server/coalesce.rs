//! Output coalescing: a program that prints a million lines must not become
//! a million DAP events. Consecutive pieces of the same category join into
//! one event of at most [`MAX_EVENT_BYTES`], held at most [`COALESCE_DELAY`].
//! Pieces are `String`s, and cuts fall on `char` boundaries, so a UTF-8
//! sequence is never split. Anything that is not plain output (another
//! category, an output with a source location) sends what was gathered
//! first, so the runtime's order is kept.

use std::time::Duration;

use dap::types::OutputEventBody;

/// The largest output event sent (bytes of `output`).
pub(super) const MAX_EVENT_BYTES: usize = 64 * 1024;

/// How long the first piece of a batch may wait for more.
pub(super) const COALESCE_DELAY: Duration = Duration::from_millis(4);

/// The batch being gathered.
#[derive(Default)]
pub(super) struct OutputCoalescer {
    pending: Option<OutputEventBody>,
}

impl OutputCoalescer {
    /// Adds one piece. Returns the events that are ready now and whether a
    /// new batch started (the caller's cue to start the delay).
    pub(super) fn push(&mut self, body: OutputEventBody) -> (Vec<OutputEventBody>, bool) {
        let mut ready = Vec::new();
        let joinable = body.source.is_none() && body.line.is_none();
        let started = match &mut self.pending {
            Some(pending) if joinable && pending.category == body.category => {
                pending.output.push_str(&body.output);
                false
            }
            _ => {
                ready.extend(self.flush());
                if !joinable {
                    ready.extend(split(body));
                    return (ready, false);
                }
                self.pending = Some(body);
                true
            }
        };
        self.cut_full(&mut ready);
        (ready, started && self.pending.is_some())
    }

    /// Everything gathered, as events of at most [`MAX_EVENT_BYTES`].
    pub(super) fn flush(&mut self) -> Vec<OutputEventBody> {
        self.pending.take().map(split).unwrap_or_default()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pending.is_none()
    }

    /// Sends full events out of the batch, keeping the remainder.
    fn cut_full(&mut self, ready: &mut Vec<OutputEventBody>) {
        let Some(pending) = &mut self.pending else {
            return;
        };
        if pending.output.len() < MAX_EVENT_BYTES {
            return;
        }
        let text = std::mem::take(&mut pending.output);
        let mut rest = text.as_str();
        while rest.len() >= MAX_EVENT_BYTES {
            let cut = char_floor(rest, MAX_EVENT_BYTES);
            ready.push(OutputEventBody {
                output: rest[..cut].to_owned(),
                ..pending.clone()
            });
            rest = &rest[cut..];
        }
        if rest.is_empty() {
            self.pending = None;
        } else {
            pending.output = rest.to_owned();
        }
    }
}

/// One body as events of at most [`MAX_EVENT_BYTES`] each.
fn split(body: OutputEventBody) -> Vec<OutputEventBody> {
    if body.output.len() <= MAX_EVENT_BYTES {
        return vec![body];
    }
    let mut out = Vec::new();
    let mut rest = body.output.as_str();
    while !rest.is_empty() {
        let cut = char_floor(rest, MAX_EVENT_BYTES);
        out.push(OutputEventBody {
            output: rest[..cut].to_owned(),
            category: body.category.clone(),
            source: body.source.clone(),
            line: body.line,
        });
        rest = &rest[cut..];
    }
    out
}

/// The largest char boundary of `text` at or below `at` (and above 0 when
/// `text` is not empty: a char is at most 4 bytes and `at` is larger).
fn char_floor(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let mut cut = at;
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut == 0 {
        // Only reachable with `at` below 4: take the first char whole.
        text.chars().next().map_or(text.len(), char::len_utf8)
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(category: &str, text: &str) -> OutputEventBody {
        OutputEventBody {
            category: Some(category.into()),
            output: text.into(),
            ..Default::default()
        }
    }

    fn texts(bodies: &[OutputEventBody]) -> Vec<(String, String)> {
        bodies
            .iter()
            .map(|b| (b.category.clone().unwrap_or_default(), b.output.clone()))
            .collect()
    }

    #[test]
    fn lines_of_one_category_join() {
        let mut c = OutputCoalescer::default();
        let (ready, started) = c.push(out("stdout", "a\n"));
        assert!(ready.is_empty() && started);
        let (ready, started) = c.push(out("stdout", "b\n"));
        assert!(ready.is_empty() && !started);
        assert_eq!(texts(&c.flush()), [("stdout".into(), "a\nb\n".into())]);
        assert!(c.is_empty());
    }

    #[test]
    fn a_change_of_category_keeps_the_order() {
        let mut c = OutputCoalescer::default();
        let mut sent = Vec::new();
        for (cat, text) in [
            ("stdout", "1"),
            ("stderr", "2"),
            ("stderr", "3"),
            ("stdout", "4"),
        ] {
            sent.extend(c.push(out(cat, text)).0);
        }
        sent.extend(c.flush());
        assert_eq!(
            texts(&sent),
            [
                ("stdout".into(), "1".into()),
                ("stderr".into(), "23".into()),
                ("stdout".into(), "4".into())
            ]
        );
    }

    #[test]
    fn output_with_a_location_is_sent_alone() {
        let mut c = OutputCoalescer::default();
        c.push(out("stdout", "a"));
        let located = OutputEventBody {
            line: Some(3),
            ..out("stdout", "b")
        };
        let (ready, started) = c.push(located);
        assert!(!started);
        assert_eq!(ready.len(), 2);
        assert_eq!(ready[1].line, Some(3));
        assert!(c.is_empty());
    }

    #[test]
    fn big_output_is_cut_on_char_boundaries_and_nothing_is_lost() {
        let mut c = OutputCoalescer::default();
        // 3-byte chars so that MAX_EVENT_BYTES falls inside one.
        let text: String = "€".repeat(MAX_EVENT_BYTES);
        let mut sent = c.push(out("stdout", &text)).0;
        sent.extend(c.push(out("stdout", "tail")).0);
        sent.extend(c.flush());
        assert!(sent.len() > 2);
        assert!(sent.iter().all(|b| b.output.len() <= MAX_EVENT_BYTES));
        let joined: String = sent.iter().map(|b| b.output.as_str()).collect();
        assert_eq!(joined, format!("{text}tail"));
    }

    #[test]
    fn char_floor_never_returns_zero_for_text() {
        assert_eq!(char_floor("€x", 1), 3);
        assert_eq!(char_floor("ab", 1), 1);
        assert_eq!(char_floor("ab", 9), 2);
    }
}
