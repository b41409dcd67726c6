//! `-o jsonl` (placeholder until its formatter lands; delegates to tsv).

use std::io::{self, Write};

use super::{BatchOut, Formatter, Options, tsv::Tsv};

pub struct Jsonl(Tsv);

impl Jsonl {
    pub fn new(opts: Options) -> Self {
        Jsonl(Tsv::new(opts))
    }
}

impl Formatter for Jsonl {
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.0.batch(b, out)
    }
}
