//! The UTF-8 byte order mark (`EF BB BF`, as Excel and some Windows tools
//! write it) at the start of an input is removed before any line is made:
//! otherwise it sticks to the first field (a CSV header's first column
//! name) or makes a JSON line invalid. Each input has its own start: a
//! file, each file of a pattern, each file a followed path rotates to,
//! each connection. A mark anywhere else is data and stays.

pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// Watches the start of one input.
#[derive(Debug, Clone, Copy)]
pub struct BomCheck {
    pending: bool,
}

impl BomCheck {
    /// At the start of an input.
    pub fn new() -> Self {
        BomCheck { pending: true }
    }

    /// Not at a start (a followed file read from its end): nothing to
    /// remove.
    pub fn done() -> Self {
        BomCheck { pending: false }
    }

    /// Given the input's bytes so far, from its start, returns how many
    /// to drop from their front: the mark's 3 when they start with it,
    /// else 0. While they are only the mark's first byte or two and more
    /// may come (`ended` false), it stays undecided and returns 0; such
    /// bytes hold no newline, so no line is made of them meanwhile.
    pub fn strip(&mut self, head: &[u8], ended: bool) -> usize {
        if !self.pending {
            return 0;
        }
        if head.len() < BOM.len() && BOM.starts_with(head) && !ended {
            return 0;
        }
        self.pending = false;
        if head.starts_with(BOM) { BOM.len() } else { 0 }
    }
}

impl BomCheck {
    /// Whether the start is decided (the bytes so far are the input's
    /// text, the mark removed).
    pub fn decided(&self) -> bool {
        !self.pending
    }
}

impl Default for BomCheck {
    fn default() -> Self {
        BomCheck::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_removed_once_at_the_start() {
        let mut b = BomCheck::new();
        assert_eq!(b.strip(b"\xef\xbb\xbfa,b\n", false), 3);
        // decided: a second mark is data
        assert_eq!(b.strip(b"\xef\xbb\xbfa,b\n", false), 0);
    }

    #[test]
    fn bom_waits_for_a_mark_split_across_reads() {
        let mut b = BomCheck::new();
        assert_eq!(b.strip(b"", false), 0);
        assert_eq!(b.strip(b"\xef", false), 0);
        assert_eq!(b.strip(b"\xef\xbb", false), 0);
        assert_eq!(b.strip(b"\xef\xbb\xbf", false), 3);
    }

    #[test]
    fn bom_other_starts_are_left_alone() {
        let mut b = BomCheck::new();
        assert_eq!(b.strip(b"\xefx", false), 0);
        assert_eq!(b.strip(b"\xef\xbb\xbf", false), 0);
        let mut b = BomCheck::new();
        assert_eq!(b.strip(b"\xef\xbb", true), 0);
        assert_eq!(BomCheck::done().strip(BOM, false), 0);
    }
}
