//! A small seeded generator (SplitMix64): runs are reproducible from the
//! seed a failure prints.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An integer that likes edges: 0, ±1, extremes, small and random values.
    pub fn edgy_i64(&mut self) -> i64 {
        match self.below(8) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i64::MIN,
            4 => i64::MAX,
            5 => self.below(100) as i64,
            6 => (self.below(1 << 20) as i64) - (1 << 19),
            _ => self.next_u64() as i64,
        }
    }

    /// Random text, sometimes with multibyte characters and escapes.
    pub fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a", "x", "1", " ", ".", ":", "(", ")", "'", "\"", "\\", "\n", "é", "✓", "😀", "\u{0}",
            "local", "return", "nil", "os.exit", "_G", "..", "[[", "]]", "--",
        ];
        let n = self.below(12);
        (0..n).map(|_| *self.pick(PIECES)).collect()
    }

    /// A random JSON value of bounded depth.
    pub fn json(&mut self, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        match self.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.one_in(2)),
            2 => Value::from(self.edgy_i64()),
            3 => Value::from(self.text()),
            4 => serde_json::json!(f64::from(self.below(1000) as u32) / 7.0),
            5 => Value::Array((0..self.below(4)).map(|_| self.json(depth - 1)).collect()),
            _ => {
                let keys = [
                    "seq",
                    "threadId",
                    "frameId",
                    "variablesReference",
                    "expression",
                    "context",
                    "name",
                    "value",
                    "levels",
                    "startFrame",
                    "source",
                    "path",
                    "breakpoints",
                    "line",
                    "requestId",
                    "filters",
                    "text",
                    "column",
                ];
                Value::Object(
                    (0..self.below(5))
                        .map(|_| ((*self.pick(&keys)).to_owned(), self.json(depth - 1)))
                        .collect(),
                )
            }
        }
    }
}
