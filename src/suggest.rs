//! Did-you-mean: the closest of a list of names to a misspelt one.

/// Levenshtein distance between two names.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `name`, when it is close enough to be a typo
/// (a few edits, or `name` is its start).
pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(name.len() / 3) || (name.len() >= 2 && c.starts_with(name)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggest_closest_name() {
        let names = ["count", "count-by-key", "split"];
        assert_eq!(closest("count-by-kee", names), Some("count-by-key"));
        assert_eq!(closest("splt", names), Some("split"));
        assert_eq!(closest("zzzzzz", names), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
