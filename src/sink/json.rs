//! `-o json` (placeholder until its formatter lands; delegates to tsv).

use std::io::{self, Write};

use super::{BatchOut, Formatter, Options, tsv::Tsv};

pub struct Json(Tsv);

impl Json {
    pub fn new(opts: Options) -> Self {
        Json(Tsv::new(opts))
    }
}

impl Formatter for Json {
    fn batch(&mut self, b: &BatchOut<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.0.batch(b, out)
    }
}
