//! `-o spark` (placeholder until its formatter lands; delegates to tsv).

use std::io::{self, Write};

use super::{BatchOut, Formatter, Options, tsv::Tsv};

pub struct Spark(Tsv);

impl Spark {
    pub fn new(opts: Options) -> Self {
        Spark(Tsv::new(opts))
    }
}

impl Formatter for Spark {
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.0.batch(b, out)
    }
}
