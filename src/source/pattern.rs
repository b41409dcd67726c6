//! Patterns and directories as inputs: `-i 'logs/*.log'` (quoted, so that
//! spate expands it and not the shell) and `-i logs/`. A pattern knows `*`
//! (any run of characters), `?` (one character), `[...]` (one of a set:
//! `[abc]`, `[a-z]`, `[!a]` or `[^a]` for any other) and `\` to take the
//! next character literally; wildcards may stand in any component
//! (`/var/log/*/access.log`) but never match `/`, and, as in the shell, a
//! name starting with `.` is matched only by a component that starts with
//! a literal `.`. A directory means every regular file directly in it,
//! hidden ones included. Either way the files come in name order
//! (component by component, bytes compared), and only regular files (a
//! symbolic link to one counts) are taken: subdirectories, FIFOs and
//! devices are left out.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// Whether `src` is written as a pattern: it holds a `*`, `?` or `[`.
/// (A path that exists as written is read as that path before this is
/// asked, so a file named `a[1].log` is still read.)
pub fn is_pattern(src: &str) -> bool {
    src.contains(['*', '?', '['])
}

/// Where a pattern or a directory finds its files.
#[derive(Debug, Clone)]
pub enum Matcher {
    Pattern(Glob),
    Dir(PathBuf),
}

impl Matcher {
    /// The regular files it names now, in name order. A directory that
    /// cannot be listed is an error; a pattern's directories that cannot
    /// be listed simply match nothing (as in the shell).
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        match self {
            Matcher::Pattern(g) => Ok(g.expand()),
            Matcher::Dir(d) => dir_files(d),
        }
    }
}

/// Every regular file directly in `dir`, in name order.
pub fn dir_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut names: Vec<OsString> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // follows a symbolic link: a link to a file is a file
        if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            names.push(entry.file_name());
        }
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// One character class item: a range (a single character is `c..=c`).
type Range = (char, char);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`
    One,
    /// `*`
    Star,
    Set {
        negated: bool,
        ranges: Vec<Range>,
    },
}

/// One path component of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// No wildcard: taken as written.
    Literal(String),
    Wild {
        tokens: Vec<Token>,
        /// Starts with a literal `.`: may match hidden names.
        dot: bool,
    },
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    absolute: bool,
    parts: Vec<Part>,
}

impl Glob {
    pub fn parse(pattern: &str) -> Glob {
        let absolute = pattern.starts_with('/');
        let parts = pattern
            .split('/')
            .filter(|c| !c.is_empty())
            .map(|c| {
                let tokens = tokens(c);
                let literal: Option<String> = tokens
                    .iter()
                    .map(|t| match t {
                        Token::Char(c) => Some(*c),
                        _ => None,
                    })
                    .collect();
                match literal {
                    Some(name) => Part::Literal(name),
                    None => {
                        let dot = matches!(tokens.first(), Some(Token::Char('.')));
                        Part::Wild { tokens, dot }
                    }
                }
            })
            .collect();
        Glob { absolute, parts }
    }

    /// The regular files that match, in name order.
    pub fn expand(&self) -> Vec<PathBuf> {
        let root = if self.absolute {
            PathBuf::from("/")
        } else {
            PathBuf::new()
        };
        let mut found = vec![root];
        for (i, part) in self.parts.iter().enumerate() {
            let last = i + 1 == self.parts.len();
            let mut next = Vec::new();
            for base in &found {
                match part {
                    Part::Literal(name) => next.push(base.join(name)),
                    Part::Wild { tokens, dot } => {
                        let dir = if base.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            base.as_path()
                        };
                        let Ok(entries) = std::fs::read_dir(dir) else {
                            continue;
                        };
                        let mut names: Vec<OsString> = entries
                            .filter_map(|e| e.ok().map(|e| e.file_name()))
                            .filter(|n| {
                                let s = n.to_string_lossy();
                                (*dot || !s.starts_with('.')) && matches(tokens, &s)
                            })
                            .collect();
                        names.sort();
                        next.extend(names.into_iter().map(|n| base.join(n)));
                    }
                }
            }
            // only directories lead on
            if !last {
                next.retain(|p| std::fs::metadata(p).is_ok_and(|m| m.is_dir()));
            }
            found = next;
        }
        if self.parts.is_empty() {
            return Vec::new();
        }
        found.retain(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()));
        found
    }
}

/// The tokens of one component.
fn tokens(c: &str) -> Vec<Token> {
    let chars: Vec<char> = c.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                // `**` is one `*`: no component crossing
                if out.last() != Some(&Token::Star) {
                    out.push(Token::Star);
                }
            }
            '?' => out.push(Token::One),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                out.push(Token::Char(chars[i]));
            }
            '[' => match set(&chars[i + 1..]) {
                Some((tok, used)) => {
                    out.push(tok);
                    i += used;
                }
                // no closing `]`: a literal `[`
                None => out.push(Token::Char('[')),
            },
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    out
}

/// A set after its `[`: the token and how many characters it took,
/// its `]` included; `None` when it is never closed.
fn set(chars: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let mut c = chars[i];
        if c == ']' && !first {
            return Some((Token::Set { negated, ranges }, i + 1));
        }
        first = false;
        if c == '\\' && i + 1 < chars.len() {
            i += 1;
            c = chars[i];
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            let mut end = chars[i + 2];
            let mut used = 2;
            if end == '\\' && i + 3 < chars.len() {
                end = chars[i + 3];
                used = 3;
            }
            ranges.push((c, end));
            i += used + 1;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

/// Whether `tokens` match all of `name`: the classic two-pointer match,
/// which backtracks only to the last `*`.
fn matches(tokens: &[Token], name: &str) -> bool {
    let s: Vec<char> = name.chars().collect();
    let (mut t, mut i) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while i < s.len() {
        let step = match tokens.get(t) {
            Some(Token::Star) => {
                back = Some((t, i));
                t += 1;
                continue;
            }
            Some(Token::One) => true,
            Some(Token::Char(c)) => *c == s[i],
            Some(Token::Set { negated, ranges }) => {
                ranges.iter().any(|&(a, b)| a <= s[i] && s[i] <= b) != *negated
            }
            None => false,
        };
        if step {
            t += 1;
            i += 1;
        } else if let Some((bt, bi)) = back {
            // let the last `*` take one more character
            t = bt + 1;
            i = bi + 1;
            back = Some((bt, bi + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|t| *t == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        matches(&tokens(pattern), name)
    }

    #[test]
    fn pattern_star_and_question_mark() {
        assert!(m("*.log", "a.log"));
        assert!(m("*.log", ".log"));
        assert!(!m("*.log", "a.log.1"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("access.log.?", "access.log.1"));
        assert!(!m("access.log.?", "access.log.10"));
        assert!(m("*", ""));
        assert!(m("**x", "abx"));
        assert!(m("é?", "éü"));
    }

    #[test]
    fn pattern_sets_ranges_and_negation() {
        assert!(m("[ab].log", "a.log"));
        assert!(!m("[ab].log", "c.log"));
        assert!(m("f[0-9][0-9]", "f42"));
        assert!(!m("f[0-9]", "fx"));
        assert!(m("[!a]x", "bx"));
        assert!(!m("[!a]x", "ax"));
        assert!(m("[^a]x", "bx"));
        // a `]` first in a set is one of its characters
        assert!(m("[]a]", "]"));
        assert!(m("[a-]", "-"));
        // an unclosed `[` is itself
        assert!(m("a[b", "a[b"));
        assert!(!m("a[b", "ab"));
    }

    #[test]
    fn pattern_backslash_takes_the_next_character_literally() {
        assert!(m(r"a\*", "a*"));
        assert!(!m(r"a\*", "ab"));
        assert!(m(r"\[x]", "[x]"));
        assert!(m(r"[\]]", "]"));
    }

    #[test]
    fn pattern_detection() {
        assert!(is_pattern("logs/*.log"));
        assert!(is_pattern("a?.log"));
        assert!(is_pattern("a[12].log"));
        assert!(!is_pattern("logs/app.log"));
    }

    fn touch(dir: &Path, name: &str) {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create test dirs");
        }
        std::fs::write(p, b"x\n").expect("write test file");
    }

    fn rel(dir: &Path, found: Vec<PathBuf>) -> Vec<String> {
        found
            .iter()
            .map(|p| {
                p.strip_prefix(dir)
                    .expect("found under the test dir")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn pattern_expands_in_name_order_files_only() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        for n in [
            "b.log",
            "a.log",
            "a.log.10",
            "a.log.2",
            ".hidden.log",
            "c.txt",
        ] {
            touch(d, n);
        }
        std::fs::create_dir(d.join("sub.log"))?;
        let pat = format!("{}/*.log*", d.display());
        assert_eq!(
            rel(d, Glob::parse(&pat).expand()),
            ["a.log", "a.log.10", "a.log.2", "b.log"]
        );
        let pat = format!("{}/.*.log", d.display());
        assert_eq!(rel(d, Glob::parse(&pat).expand()), [".hidden.log"]);
        let pat = format!("{}/nothing*", d.display());
        assert!(Glob::parse(&pat).expand().is_empty());
        Ok(())
    }

    #[test]
    fn pattern_wildcards_in_directories() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        touch(d, "web2/access.log");
        touch(d, "web1/access.log");
        touch(d, "web1/error.log");
        touch(d, "db/access.log");
        let pat = format!("{}/web?/access.log", d.display());
        assert_eq!(
            rel(d, Glob::parse(&pat).expand()),
            ["web1/access.log", "web2/access.log"]
        );
        let pat = format!("{}/*/*.log", d.display());
        assert_eq!(rel(d, Glob::parse(&pat).expand()).len(), 4);
        Ok(())
    }

    #[test]
    fn pattern_relative_to_the_current_directory() {
        // the crate's own sources: relative patterns list `.`
        let found = Glob::parse("src/source/pat*.rs").expand();
        assert_eq!(found, [PathBuf::from("src/source/pattern.rs")]);
        let found = Glob::parse("./src/source/pat*.rs").expand();
        assert_eq!(found, [PathBuf::from("./src/source/pattern.rs")]);
    }

    #[test]
    fn pattern_directory_lists_every_file_in_name_order() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        for n in ["b", "a", ".dot", "c.gz"] {
            touch(d, n);
        }
        touch(d, "sub/inner");
        assert_eq!(rel(d, dir_files(d)?), [".dot", "a", "b", "c.gz"]);
        assert!(dir_files(&d.join("missing")).is_err());
        Ok(())
    }
}
