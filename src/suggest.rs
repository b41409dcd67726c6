//! Did-you-mean: the closest of a list of names to a misspelt one.

/// Edit distance between two names: insertions, deletions,
/// substitutions, and two neighbours swapped (`msg`, `mgs`), one each.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows i-2, i-1 and i of the table
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 0..a.len() {
        let mut cur = vec![i + 1; b.len() + 1];
        for j in 0..b.len() {
            let sub = prev[j] + usize::from(a[i] != b[j]);
            let mut d = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        before = std::mem::replace(&mut prev, cur);
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
        assert_eq!(distance("mgs", "msg"), 1);
        assert_eq!(distance("strcit", "strict"), 1);
        assert_eq!(distance("", "ab"), 2);
    }
}
