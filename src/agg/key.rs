//! Grouping keys: an owned key stored in the maps, and a borrowed view of a
//! record's key fields that hashes and compares equal to it, so that looking
//! a key up never allocates.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use hashbrown::Equivalent;

use crate::value::Value;

/// The fast hasher every aggregation map uses.
pub type BuildHasher = foldhash::fast::RandomState;
pub type Map<K, V> = hashbrown::HashMap<K, V, BuildHasher>;

/// An owned grouping key: the values of the key fields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(pub Box<[Value<'static>]>);

/// A borrowed key: references to a record's key values.
pub struct KeyRef<'r, 'a>(pub &'r [&'r Value<'a>]);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for v in self.0.iter() {
            v.hash(state);
        }
    }
}

impl Hash for KeyRef<'_, '_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for v in self.0 {
            v.hash(state);
        }
    }
}

impl Equivalent<Key> for KeyRef<'_, '_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0.len() == key.0.len() && self.0.iter().zip(key.0.iter()).all(|(a, b)| *a == b)
    }
}

impl KeyRef<'_, '_> {
    pub fn to_key(&self) -> Key {
        Key(self.0.iter().map(|v| v.to_owned_value()).collect())
    }
}

impl Key {
    /// Keys in `sort`'s order, field by field.
    pub fn sort_cmp(&self, other: &Key) -> Ordering {
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let o = a.sort_cmp(b);
            if o != Ordering::Equal {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

/// The value a missing key field groups under.
pub static MISSING: Value<'static> = Value::Null;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher as _;

    #[test]
    fn key_ref_hashes_like_key() {
        let s = BuildHasher::default();
        let a = Value::str("x");
        let b = Value::Int(3);
        let r = KeyRef(&[&a, &b]);
        let k = r.to_key();
        assert_eq!(s.hash_one(&r), s.hash_one(&k));
        assert!(r.equivalent(&k));
    }
}
