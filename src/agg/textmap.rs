//! Counts keyed by text, for the hottest path (word counts, statuses):
//! an open-addressing table of `(text, count)` whose equality test compares
//! short keys with a few word loads instead of a call to `memcmp`.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// A text → u64 map.
#[derive(Debug, Clone, Default)]
pub struct TextCounts {
    table: HashTable<(Box<str>, u64)>,
    hasher: foldhash::fast::RandomState,
}

/// Byte equality, inlined for short slices (most keys are words): two
/// overlapping word loads compare up to 16 bytes.
#[inline(always)]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    #[inline(always)]
    fn load8(s: &[u8], i: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_ne_bytes(w)
    }
    #[inline(always)]
    fn load4(s: &[u8], i: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[i..i + 4]);
        u32::from_ne_bytes(w)
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        if n <= 16 {
            return load8(a, 0) == load8(b, 0) && load8(a, n - 8) == load8(b, n - 8);
        }
        return a == b;
    }
    if n >= 4 {
        return load4(a, 0) == load4(b, 0) && load4(a, n - 4) == load4(b, n - 4);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

impl TextCounts {
    /// Adds `n` to the count of `t`.
    #[inline]
    pub fn add(&mut self, t: &str, n: u64) {
        self.add_bytes(t.as_bytes(), n);
    }

    /// Adds `n` to the count of the text `t` (UTF-8; invalid bytes would
    /// be replaced in the stored key).
    #[inline]
    pub fn add_bytes(&mut self, t: &[u8], n: u64) {
        self.add_bytes_if_room(t, n, true);
    }

    /// Adds `n` to the count of `t` if `t` is already a key or `room` says
    /// a new key may be added; returns whether it was counted.
    #[inline]
    pub fn add_if_room(&mut self, t: &str, n: u64, room: bool) -> bool {
        self.add_bytes_if_room(t.as_bytes(), n, room)
    }

    /// [`TextCounts::add_if_room`] for text given as bytes.
    #[inline(always)]
    pub fn add_bytes_if_room(&mut self, t: &[u8], n: u64, room: bool) -> bool {
        let h = self.hasher.hash_one(t);
        match self.table.find_mut(h, |(k, _)| bytes_eq(k.as_bytes(), t)) {
            Some((_, c)) => {
                *c += n;
                true
            }
            None if room => {
                let key: Box<str> = String::from_utf8_lossy(t).into();
                let hasher = &self.hasher;
                self.table
                    .insert_unique(h, (key, n), |(k, _)| hasher.hash_one(k.as_bytes()));
                true
            }
            None => false,
        }
    }

    /// Makes room for `n` more keys.
    pub fn reserve(&mut self, n: usize) {
        let hasher = &self.hasher;
        self.table
            .reserve(n, |(k, _)| hasher.hash_one(k.as_bytes()));
    }

    pub fn merge(&mut self, other: &TextCounts) {
        self.reserve(other.len());
        for (k, c) in other.iter() {
            self.add(k, c);
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The entries, moved out.
    pub fn into_entries(self) -> impl Iterator<Item = (Box<str>, u64)> {
        self.table.into_iter()
    }

    /// An empty map with room for `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        TextCounts {
            table: HashTable::with_capacity(n),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.table.iter().map(|(k, c)| (&**k, *c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn textmap_counts_and_merges() {
        let mut a = TextCounts::default();
        for w in [
            "x",
            "y",
            "x",
            "longer-than-sixteen-bytes",
            "longer-than-sixteen-bytes",
        ] {
            a.add(w, 1);
        }
        let mut b = TextCounts::default();
        b.add("x", 5);
        b.add("z", 1);
        a.merge(&b);
        let mut v: Vec<(&str, u64)> = a.iter().collect();
        v.sort();
        assert_eq!(
            v,
            [
                ("longer-than-sixteen-bytes", 2),
                ("x", 7),
                ("y", 1),
                ("z", 1)
            ]
        );
    }

    #[test]
    fn textmap_add_if_room_keeps_out_new_keys_only() {
        let mut a = TextCounts::default();
        assert!(a.add_if_room("x", 1, true));
        assert!(a.add_if_room("x", 2, false), "a known key always counts");
        assert!(!a.add_if_room("y", 1, false));
        let v: Vec<(&str, u64)> = a.iter().collect();
        assert_eq!(v, [("x", 3)]);
    }

    proptest! {
        #[test]
        fn textmap_bytes_eq_matches_slice_eq(a in prop::collection::vec(0u8..3, 0..40), b in prop::collection::vec(0u8..3, 0..40)) {
            prop_assert_eq!(bytes_eq(&a, &b), a == b);
            prop_assert!(bytes_eq(&a, &a.clone()));
        }
    }
}
