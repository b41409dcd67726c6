//! Regexes for Spark: spate's syntax (Rust's `regex`) into Java's, which
//! Spark runs. Named groups become numbered ones (Java's names allow no
//! `_`), `(?U)` makes `\d`, `\w`, `\s` and `\b` Unicode-aware as they are
//! in spate, replacements' references become `$N`, and what Java reads
//! differently (ASCII classes, `\<`, the flags U and R) is refused.

use regex_syntax::ast::{self, Ast, Visitor};

use crate::ops::spark::JavaRegex;

/// Text that Java's regex reads literally.
pub(super) fn java_quote(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == ' ' || !c.is_ascii() {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// Collects what differs between the two syntaxes.
#[derive(Default)]
struct Scan {
    /// (start offset, end offset of the opening `(?P<name>`) of named
    /// groups.
    named_opens: Vec<(usize, usize)>,
    names: Vec<(String, usize)>,
    groups: usize,
    problem: Option<String>,
}

impl Visitor for &mut Scan {
    type Output = ();
    type Err = ();

    fn finish(self) -> std::result::Result<(), ()> {
        Ok(())
    }

    fn visit_pre(&mut self, a: &Ast) -> std::result::Result<(), ()> {
        match a {
            Ast::Group(g) => match &g.kind {
                ast::GroupKind::CaptureIndex(_) => self.groups += 1,
                ast::GroupKind::CaptureName { name, .. } => {
                    self.groups += 1;
                    self.names.push((name.name.clone(), self.groups));
                    self.named_opens
                        .push((g.span.start.offset, name.span.end.offset + 1));
                }
                ast::GroupKind::NonCapturing(flags) => self.flags(flags),
            },
            Ast::Flags(f) => self.flags(&f.flags),
            Ast::Assertion(x) => {
                use ast::AssertionKind as K;
                if !matches!(
                    x.kind,
                    K::StartLine
                        | K::EndLine
                        | K::StartText
                        | K::EndText
                        | K::WordBoundary
                        | K::NotWordBoundary
                ) {
                    self.problem = Some("the word-boundary assertions \\b{...}, \\< and \\> have no Java equivalent".into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_item_pre(
        &mut self,
        item: &ast::ClassSetItem,
    ) -> std::result::Result<(), ()> {
        if let ast::ClassSetItem::Ascii(_) = item {
            self.problem = Some("ASCII classes such as [[:alpha:]] read differently in Java; write \\p{Alpha} or [a-zA-Z]".into());
        }
        Ok(())
    }
}

impl Scan {
    fn flags(&mut self, f: &ast::Flags) {
        for item in &f.items {
            if let ast::FlagsItemKind::Flag(flag) = item.kind {
                match flag {
                    ast::Flag::SwapGreed => {
                        self.problem = Some("the flag U (swap greed) has no Java equivalent".into())
                    }
                    ast::Flag::CRLF => {
                        self.problem = Some("the flag R (CRLF) has no Java equivalent".into())
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Translates a spate regex for Spark: named groups become plain groups
/// (Java's names allow no `_`; the mapping uses indexes), and `(?U)` makes
/// `\d`, `\w`, `\s` and `\b` Unicode-aware as they are in spate.
pub(super) fn java_regex(pattern: &str) -> std::result::Result<JavaRegex, String> {
    crate::ops::compile_regex(pattern)?;
    let parsed = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("bad regex '{pattern}': {e}"))?;
    let mut scan = Scan::default();
    ast::visit(&parsed, &mut scan).map_err(|()| format!("bad regex '{pattern}'"))?;
    if let Some(p) = scan.problem {
        return Err(format!("regex '{pattern}': {p}"));
    }
    let mut out = String::from("(?U)");
    let mut at = 0;
    for &(start, end) in &scan.named_opens {
        out.push_str(&pattern[at..start]);
        out.push('(');
        at = end;
    }
    out.push_str(&pattern[at..]);
    Ok(JavaRegex {
        pattern: out,
        groups: scan.groups,
        names: scan.names,
    })
}

/// A replacement in Java's syntax: `$1`, `${1}`, `${name}` and `$name`
/// become numbered references (`$N`), `$$` a literal `$`, and backslashes
/// are escaped.
pub(super) fn java_replacement(repl: &str, re: &JavaRegex) -> std::result::Result<String, String> {
    let mut out = String::new();
    let b = repl.as_bytes();
    let mut i = 0;
    let group_ref = |name: &str| -> std::result::Result<usize, String> {
        if let Ok(n) = name.parse::<usize>() {
            if n <= re.groups {
                return Ok(n);
            }
        }
        re.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| *i)
            .ok_or_else(|| {
                format!("replacement refers to group '{name}', which the regex does not have")
            })
    };
    while i < b.len() {
        let c = b[i];
        if c == b'$' {
            if b.get(i + 1) == Some(&b'$') {
                out.push_str("\\$");
                i += 2;
                continue;
            }
            let (name, next) = if b.get(i + 1) == Some(&b'{') {
                let Some(close) = repl[i + 2..].find('}') else {
                    out.push_str("\\$");
                    i += 1;
                    continue;
                };
                (&repl[i + 2..i + 2 + close], i + 3 + close)
            } else {
                let len = repl[i + 1..]
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                if len == 0 {
                    out.push_str("\\$");
                    i += 1;
                    continue;
                }
                (&repl[i + 1..i + 1 + len], i + 1 + len)
            };
            let n = group_ref(name)?;
            // Java reads `$n` followed by digits as the longest group
            // number the regex has, and has no `${n}` to close it
            if let Some(d) = repl[next..].chars().next().and_then(|c| c.to_digit(10)) {
                if n * 10 + d as usize <= re.groups {
                    return Err(format!(
                        "replacement '{repl}': a digit right after group {n} would read as group \
                         {}{d} in Java; name the group instead",
                        n
                    ));
                }
            }
            out.push('$');
            out.push_str(&n.to_string());
            i = next;
        } else if c == b'\\' {
            out.push_str("\\\\");
            i += 1;
        } else {
            let ch = repl[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_regex_named_groups_become_numbered() {
        let re = java_regex(r#"" (?P<status>\d{3}) (?<b_y>\S+)"#).unwrap();
        assert_eq!(re.pattern, r#"(?U)" (\d{3}) (\S+)"#);
        assert_eq!(
            re.names,
            [("status".to_string(), 1), ("b_y".to_string(), 2)]
        );
        assert_eq!(re.groups, 2);
    }

    #[test]
    fn emit_regex_refuses_what_java_reads_differently() {
        assert!(java_regex("[[:alpha:]]+").is_err());
        assert!(java_regex(r"\<word").is_err());
        assert!(java_regex("(?U)a+").is_err());
        assert!(java_regex("a(?i:b)c").is_ok());
    }

    #[test]
    fn emit_replacement_references() {
        let re = java_regex(r"(\w+)=(?P<v>\w+)").unwrap();
        assert_eq!(java_replacement("${v}:$1", &re).unwrap(), "$2:$1");
        assert_eq!(java_replacement("${1}x$$\\", &re).unwrap(), "$1x\\$\\\\");
        assert_eq!(java_replacement("${1}0", &re).unwrap(), "$10");
        assert!(java_replacement("$3", &re).is_err());
    }

    #[test]
    fn emit_java_quote_escapes_metacharacters() {
        assert_eq!(java_quote("a.b|c"), "a\\.b\\|c");
        assert_eq!(java_quote("::"), "\\:\\:");
    }
}
