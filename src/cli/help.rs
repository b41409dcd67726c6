//! Help texts as printed: clap renders the usage, the options and the
//! prose, wrapped to the terminal; the examples (an after-help paragraph
//! that starts `Examples:`, and what follows it) are appended as written,
//! so that a command is never cut in two and can be copied whole. Also
//! `spate help` and `spate help OPERATOR`.

use std::io::IsTerminal;

use clap::Command;
use clap::builder::StyledStr;

use crate::ops::{Operator, command_for};

/// Where the examples begin in an after-help text.
const EXAMPLES: &str = "Examples:\n";

/// Splits an after-help text into its prose and its examples paragraph
/// (with whatever follows it), when it has one.
fn split_examples(text: &str) -> (&str, Option<&str>) {
    let at = if text.starts_with(EXAMPLES) {
        Some(0)
    } else {
        text.find(&format!("\n{EXAMPLES}")).map(|i| i + 1)
    };
    match at {
        Some(i) => (text[..i].trim_end(), Some(text[i..].trim_end())),
        None => (text, None),
    }
}

/// Help text, with clap's styling only on a terminal without NO_COLOR.
pub(crate) fn styled(e: &clap::Error) -> String {
    let styled = e.render();
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    if color {
        styled.ansi().to_string()
    } else {
        styled.to_string()
    }
}

/// The help that `words` (the command's name first, then `-h` or
/// `--help` among them) ask of `cmd`, with its examples unwrapped; `None`
/// when the words do not ask for help.
pub fn render(cmd: Command, words: &[String]) -> Option<String> {
    let after = cmd.get_after_help().map(StyledStr::to_string);
    let (cmd, examples) = match after.as_deref().map(split_examples) {
        Some((prose, Some(examples))) => {
            let cmd = if prose.is_empty() {
                cmd.after_help(None::<&'static str>)
            } else {
                cmd.after_help(prose.to_string())
            };
            (cmd, Some(examples.to_string()))
        }
        _ => (cmd, None),
    };
    let e = cmd.try_get_matches_from(words).err()?;
    if !matches!(e.kind(), clap::error::ErrorKind::DisplayHelp) {
        return None;
    }
    let mut text = styled(&e);
    if let Some(ex) = examples {
        let end = text.trim_end().len();
        text.truncate(end);
        text.push_str("\n\n");
        text.push_str(&ex);
        text.push('\n');
    }
    Some(text)
}

/// `spate OP --help` (or `-h`): the operator's help.
pub fn operator(op: &dyn Operator, words: &[String]) -> Option<String> {
    render(command_for(op), words)
}

/// `spate help [OPERATOR]`: spate's help, or the operator's; `None` when
/// the words are not one of those (`help` with another word is left to
/// the chain, which names an unknown operator).
pub fn help_word(words: &[String]) -> Option<String> {
    match words {
        [h] if h == "help" => render(super::command(), &["spate".into(), "--help".into()]),
        [h, name] if h == "help" => {
            let op = crate::ops::find(name)?;
            operator(op, &[name.clone(), "--help".into()])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_splits_examples_from_prose() {
        assert_eq!(
            split_examples("Some prose.\n\nExamples:\n  spate a\n  spate b"),
            ("Some prose.", Some("Examples:\n  spate a\n  spate b"))
        );
        assert_eq!(
            split_examples("Examples:\n  spate a\n"),
            ("", Some("Examples:\n  spate a"))
        );
        assert_eq!(split_examples("No examples."), ("No examples.", None));
    }

    #[test]
    fn help_examples_are_never_wrapped() {
        let long = "spate -i access.log --event-time auto -b 1m parse '\" (?P<status>\\d{3}) ' then window 1h --slide 1m then count-by-key status";
        let cmd = Command::new("x").term_width(40).after_help(format!(
            "Prose that is long enough to be wrapped at forty columns.\n\nExamples:\n  {long}"
        ));
        let text = render(cmd, &["x".into(), "--help".into()]).expect("help");
        assert!(text.contains(&format!("\n  {long}\n")), "{text}");
        // the prose is still wrapped
        assert!(
            text.contains("Prose that is long enough to be wrapped\nat forty columns."),
            "{text}"
        );
    }

    #[test]
    fn help_word_shows_spate_or_an_operator() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let top = help_word(&words("help")).expect("spate's help");
        assert!(top.contains("Usage: spate"), "{top}");
        let op = help_word(&words("help split")).expect("split's help");
        assert!(op.contains("Usage: spate split"), "{op}");
        assert_eq!(help_word(&words("help nope")), None);
        assert_eq!(help_word(&words("split")), None);
    }
}
