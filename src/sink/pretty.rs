//! `-o pretty` (placeholder until its formatter lands; delegates to tsv).

use std::io::{self, Write};

use super::{BatchOut, Formatter, Options, tsv::Tsv};

pub struct Pretty(Tsv);

impl Pretty {
    pub fn new(opts: Options) -> Self {
        Pretty(Tsv::new(opts))
    }
}

impl Formatter for Pretty {
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.0.batch(b, out)
    }
}
