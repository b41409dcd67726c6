//! `--emit TARGET`: instead of running the chain, print a program that runs
//! the same chain on another engine, with the same semantics and the same
//! output format, for when one machine is not enough. Each target is one
//! module, walking the plan; a chain a target cannot express is refused
//! with one line saying why (exit 2), never emitted wrong.

pub mod pyspark;

use crate::plan::Plan;

/// The targets `--emit` accepts.
pub const TARGETS: [&str; 1] = ["pyspark"];

/// The program for `target`, or the one-line reason it cannot be written.
/// `argv` is spate's own command line (program name first), quoted into
/// the program's header.
pub fn program(target: &str, plan: &Plan, argv: &[String]) -> Result<String, String> {
    match target {
        "pyspark" => {
            // the program's name as the user knows it, not its path
            let mut words = vec!["spate".to_string()];
            words.extend(argv.iter().skip(1).cloned());
            pyspark::program(plan, &shell_line(&words))
        }
        other => Err(format!("spate: --emit: unknown target '{other}'")),
    }
}

/// The command line as one shell line, each word quoted only when it must
/// be (a line break shows as `\n`, so that the line stays one line).
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_shell_line_quotes_only_what_needs_it() {
        let argv: Vec<String> = ["spate", "-b", "1m", "parse", "\" (?P<s>\\d+) ", "it's"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_line(&argv),
            "spate -b 1m parse '\" (?P<s>\\d+) ' 'it'\\''s'"
        );
    }
}
