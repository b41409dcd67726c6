//! spate's own options where the chain is. A word starting with `-` where
//! the first operator's name should be is an unknown option (the chain
//! begins at the first word that is not one of spate's options): exit 2
//! with the closest of spate's options, or the operator it belongs to. One
//! of spate's options written after the chain, where the operator it
//! follows does not take it, is told to move before the chain, with the
//! command line that does so. Words an operator takes as its own options
//! (`grep -i`, `csv --header`) are never touched.

use std::ffi::OsString;

use clap::{Arg, Command};

use crate::ops::{command_for, find};
use crate::plan::UsageError;

/// The option a word names: `--batchh=eof` is `--batchh`, `-ojson` is
/// `-o`.
fn option_name(word: &str) -> &str {
    if word.starts_with("--") {
        word.split_once('=').map_or(word, |(n, _)| n)
    } else {
        word.char_indices().nth(2).map_or(word, |(i, _)| &word[..i])
    }
}

/// The words of a command line with the short options before the chain
/// split as clap reads them: a value written onto its option (`-beof`,
/// `-b=eof`, `-ojsonl`: `-b`, `eof`; one leading `=` is dropped) and a
/// cluster of them (`-Fifile`: `-F`, `-i`, `file`). Which shorts exist
/// and which take a value is `global`'s (built here, so `-h` and `-V`
/// count too). The walk stops at `--`, at the chain's first word (one that
/// does not start with `-`, or `-` itself) and at a word with an option
/// `global` does not have, which is left as it is for [`unknown`]; an
/// option's value in a word of its own is never split; the words from the
/// chain on are never touched (`grep -i`, `split -r ,` are the
/// operators'). The program's name comes first.
pub fn split_attached(mut global: Command, args: Vec<OsString>) -> Vec<OsString> {
    global.build();
    let mut out = Vec::with_capacity(args.len() + 2);
    let mut words = args.into_iter();
    out.extend(words.next());
    while let Some(word) = words.next() {
        let Some(w) = word.to_str() else {
            out.push(word);
            break;
        };
        if w == "--" || w == "-" || !w.starts_with('-') {
            out.push(word);
            break;
        }
        // the option's words, and whether its value is the next word
        let split = if w.starts_with("--") {
            find_arg(&global, option_name(w))
                .map(|a| (vec![w.to_string()], takes_value(a) && !w.contains('=')))
        } else {
            short_cluster(&global, w)
        };
        let Some((split, value_next)) = split else {
            out.push(word);
            break;
        };
        out.extend(split.into_iter().map(OsString::from));
        if value_next {
            out.extend(words.next());
        }
    }
    out.extend(words);
    out
}

/// A word of short options (`-Fifile`, `-b=eof`) as words of their own
/// (`-F`, `-i`, `file`), and whether the last one takes its value from the
/// next word; `None` when one of its letters is not an option of `global`.
fn short_cluster(global: &Command, word: &str) -> Option<(Vec<String>, bool)> {
    let body = word.strip_prefix('-')?;
    let mut out = Vec::new();
    for (i, c) in body.char_indices() {
        let arg = global.get_arguments().find(|a| {
            a.get_short() == Some(c) || a.get_all_short_aliases().is_some_and(|v| v.contains(&c))
        })?;
        out.push(format!("-{c}"));
        if takes_value(arg) {
            let rest = &body[i + c.len_utf8()..];
            if rest.is_empty() {
                return Some((out, true));
            }
            out.push(rest.strip_prefix('=').unwrap_or(rest).to_string());
            return Some((out, false));
        }
    }
    Some((out, false))
}

/// The argument of `cmd` that `name` (`--output`, `-o`) spells.
fn find_arg<'c>(cmd: &'c Command, name: &str) -> Option<&'c Arg> {
    cmd.get_arguments().find(|a| {
        if let Some(long) = name.strip_prefix("--") {
            a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|v| v.contains(&long))
        } else {
            let mut cs = name.chars().skip(1);
            match (cs.next(), cs.next()) {
                (Some(c), None) => a.get_short() == Some(c),
                _ => false,
            }
        }
    })
}

/// Whether the argument takes a value (`-o json`), as opposed to a flag.
fn takes_value(a: &Arg) -> bool {
    a.get_action().takes_values()
}

/// A word as a shell would need it written.
pub fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// The operator named in the chain whose own command takes the option
/// `name` (the chain may start with the option: `-r , split`).
fn operators_taking(name: &str, ops: &[Vec<String>]) -> Option<String> {
    ops.iter().flatten().find_map(|word| {
        let op = find(word)?;
        let cmd = command_for(op);
        find_arg(&cmd, name).map(|_| op.name().to_string())
    })
}

/// A word that starts with `-` where the chain's first operator should be:
/// an option spate does not have.
pub fn unknown(global: &Command, word: &str, ops: &[Vec<String>]) -> UsageError {
    let name = option_name(word);
    let err = UsageError::global(format!("unknown option '{name}'"));
    if let Some(op) = operators_taking(name, ops) {
        return err.hint(format!(
            "'{name}' is an option of {op}: write it after the operator's name ({op} {name} ...)"
        ));
    }
    let suggestion = if name.starts_with("--") {
        let longs: Vec<String> = global
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .chain(["--help".to_string(), "--version".to_string()])
            .collect();
        crate::suggest::closest(name, longs.iter().map(String::as_str)).map(str::to_string)
    } else {
        None
    };
    match suggestion {
        Some(s) => err.hint(format!("did you mean '{s}'?")),
        None => err.hint("spate --help lists the options; options go before the chain"),
    }
}

/// Whether `word` is an option of `cmd` written alone that takes a value
/// (`-r`, `--regex`; not `-r,` or `--regex=,`): the next word is its value.
fn wants_value(cmd: &Command, word: &str) -> bool {
    word.starts_with('-')
        && word.len() == option_name(word).len()
        && find_arg(cmd, option_name(word)).is_some_and(takes_value)
}

/// An operator's word that looks like one of its long options misspelt
/// (`grep --invert a`): the closest of the operator's long options. Only
/// the words before `--`, and none that is the value of an option before
/// it. `cmd`: the operator's command; `words`: its words, name first.
pub fn misspelt_long(cmd: &Command, words: &[String]) -> Option<String> {
    let longs: Vec<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .chain(["--help".to_string()])
        .collect();
    let words = words.get(1..)?;
    let words = &words[..words.iter().position(|w| w == "--").unwrap_or(words.len())];
    words.iter().enumerate().find_map(|(i, w)| {
        let name = option_name(w);
        let candidate = name.starts_with("--")
            && name.len() > 2
            && find_arg(cmd, name).is_none()
            && !(i > 0 && wants_value(cmd, &words[i - 1]));
        if !candidate {
            return None;
        }
        crate::suggest::closest(name, longs.iter().map(String::as_str)).map(str::to_string)
    })
}

/// How to write `invalid`, a word that looks like an option, as the value
/// of the operator's option right before it (`split -r -o`: `-r=-o`), when
/// it follows one that takes a value. `cmd`: the operator's command;
/// `words`: its words, name first.
pub fn as_value(cmd: &Command, words: &[String], invalid: &str) -> Option<String> {
    let at = words.iter().skip(1).position(|w| w == invalid)? + 1;
    let prev = words
        .get(at - 1)
        .filter(|p| at > 1 && wants_value(cmd, p))?;
    Some(format!(
        "to pass '{invalid}' as the value of {prev}, write {}",
        shell_quote(&format!("{prev}={invalid}"))
    ))
}

/// The operator at `pos` (its words, name first) refused `word`, which is
/// not one of its options: when it is one of spate's, the error says that
/// options go before the chain, with the command line moved so. `before`:
/// the words before the chain (the program's name first); `ops`: the
/// chain's operators.
pub fn after_chain(
    global: &Command,
    invalid: &str,
    pos: usize,
    before: &[String],
    ops: &[Vec<String>],
) -> Option<UsageError> {
    let name = option_name(invalid);
    let arg = find_arg(global, name)?;
    let words = ops.get(pos.checked_sub(1)?)?;
    let op = words.first()?.clone();
    // the option's words, and the value that goes with it
    let at = words
        .iter()
        .position(|w| w.starts_with('-') && option_name(w) == name)?;
    // the word after an option of the operator that takes a value is
    // meant as that value (`split -r -o`): not spate's
    if at > 1 {
        let prev = &words[at - 1];
        if wants_value(&command_for(find(&op)?), prev) {
            return None;
        }
    }
    let inline = words[at].len() > name.len();
    let with_value = takes_value(arg) && !inline && at + 1 < words.len();
    let moved: Vec<String> = words[at..=at + usize::from(with_value)].to_vec();
    let mut line: Vec<String> = vec!["spate".to_string()];
    line.extend(before.iter().skip(1).cloned());
    line.extend(moved);
    for (i, w) in ops.iter().enumerate() {
        if i > 0 {
            line.push("then".into());
        }
        for (j, word) in w.iter().enumerate() {
            let skip = i + 1 == pos && (j == at || (with_value && j == at + 1));
            if !skip {
                line.push(word.clone());
            }
        }
    }
    let line: Vec<String> = line.iter().map(|w| shell_quote(w)).collect();
    Some(
        UsageError::at(
            pos,
            Some(&op),
            format!("'{name}' is one of spate's options, not an option of {op}"),
        )
        .hint(format!("options go before the chain: {}", line.join(" "))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    fn ops(s: &str) -> Vec<Vec<String>> {
        s.split(" then ").map(words).collect()
    }

    #[test]
    fn options_unknown_suggests_the_closest_long_option() {
        let cmd = super::super::command();
        let e = unknown(&cmd, "--batchh", &ops("count"));
        assert_eq!(
            e.to_string(),
            "spate: unknown option '--batchh'; did you mean '--batch'?"
        );
        let e = unknown(&cmd, "--event-tme=auto", &ops("count"));
        assert!(
            e.to_string().contains("did you mean '--event-time'?"),
            "{e}"
        );
        let e = unknown(&cmd, "--strcit", &ops("count"));
        assert!(e.to_string().contains("did you mean '--strict'?"), "{e}");
        let e = unknown(&cmd, "-x", &ops("count"));
        assert_eq!(
            e.to_string(),
            "spate: unknown option '-x'; spate --help lists the options; options go before the chain"
        );
        // an operator's option written before the chain
        let e = unknown(&cmd, "-r", &ops("-r , split then count"));
        assert!(e.to_string().contains("'-r' is an option of split"), "{e}");
    }

    #[test]
    fn options_after_chain_moves_them_before_it() {
        let cmd = super::super::command();
        let before = words("spate -b eof");
        let e = after_chain(&cmd, "-o", 2, &before, &ops("split then count -o json"))
            .expect("-o is spate's");
        assert_eq!(
            e.to_string(),
            "spate: operator 2 (count): '-o' is one of spate's options, not an option of count; \
             options go before the chain: spate -b eof -o json split then count"
        );
        // a flag takes no value with it; an inline value stays in its word
        let e = after_chain(&cmd, "--stats", 1, &words("spate"), &ops("count --stats"))
            .expect("--stats is spate's");
        assert!(e.to_string().ends_with("spate --stats count"), "{e}");
        let e = after_chain(
            &cmd,
            "--output",
            1,
            &words("spate"),
            &ops("parse (?P<a>x) --output=json"),
        )
        .expect("--output is spate's");
        assert!(
            e.to_string()
                .ends_with("spate --output=json parse '(?P<a>x)'"),
            "{e}"
        );
        // not one of spate's
        assert!(after_chain(&cmd, "--nope", 1, &words("spate"), &ops("count --nope")).is_none());
        // meant as the value of the operator's own option
        assert!(after_chain(&cmd, "-o", 1, &words("spate"), &ops("split -r -o")).is_none());
    }

    /// The words `split_attached` makes of a command line.
    fn split(s: &str) -> String {
        let args: Vec<OsString> = s.split(' ').map(OsString::from).collect();
        let out = split_attached(super::super::command(), args);
        let out: Vec<String> = out
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        out.join(" ")
    }

    #[test]
    fn options_split_attached_values_of_short_options() {
        assert_eq!(split("spate -beof count"), "spate -b eof count");
        assert_eq!(split("spate -b=eof count"), "spate -b eof count");
        assert_eq!(
            split("spate -b1s -if.txt count"),
            "spate -b 1s -i f.txt count"
        );
        assert_eq!(
            split("spate -ojsonl -o=json count"),
            "spate -o jsonl -o json count"
        );
        // one `=` is dropped, a second is the value's
        assert_eq!(split("spate -i==x count"), "spate -i =x count");
        // clusters: flags, then an option that takes the rest or the next word
        assert_eq!(
            split("spate -Fifile -b eof count"),
            "spate -F -i file -b eof count"
        );
        assert_eq!(split("spate -Fi file count"), "spate -F -i file count");
        // already apart, or long: as they are
        assert_eq!(
            split("spate -b eof --output=jsonl -F count"),
            "spate -b eof --output=jsonl -F count"
        );
    }

    #[test]
    fn options_split_attached_leaves_values_and_the_chain_alone() {
        // a value in a word of its own is a value, even one like an option
        assert_eq!(split("spate -i -bx count"), "spate -i -bx count");
        assert_eq!(
            split("spate --input -bx --batch -ojson count"),
            "spate --input -bx --batch -ojson count"
        );
        assert_eq!(split("spate -i - -beof count"), "spate -i - -b eof count");
        // the chain's words are the operators'
        assert_eq!(
            split("spate -beof grep -ifoo then split -r, then count -ojson"),
            "spate -b eof grep -ifoo then split -r, then count -ojson"
        );
        // `--` and an unknown option end the walk, and stay as they are
        assert_eq!(split("spate -- -beof count"), "spate -- -beof count");
        assert_eq!(split("spate -xb1s -beof count"), "spate -xb1s -beof count");
        assert_eq!(split("spate -Fx -beof count"), "spate -Fx -beof count");
        assert_eq!(
            split("spate --nope -beof count"),
            "spate --nope -beof count"
        );
        // spate's own -h and -V are flags
        assert_eq!(split("spate -hbeof"), "spate -h -b eof");
    }

    #[test]
    fn options_misspelt_long_of_an_operator() {
        let grep = command_for(find("grep").expect("grep"));
        let near = |s: &str| misspelt_long(&grep, &words(s));
        assert_eq!(near("grep --invert a").as_deref(), Some("--invert-match"));
        assert_eq!(
            near("grep -v --ignore-cse a").as_deref(),
            Some("--ignore-case")
        );
        // a value, after `--`, an option it has, or nothing close: none
        assert_eq!(near("grep -f --invert a"), None);
        assert_eq!(near("grep -- --invert a"), None);
        assert_eq!(near("grep --invert-match a"), None);
        assert_eq!(near("grep --zzzzzzzzzz a"), None);
        assert_eq!(near("grep a b"), None);
    }

    #[test]
    fn options_as_value_of_the_option_before() {
        let split = command_for(find("split").expect("split"));
        let tip = |s: &str, w: &str| as_value(&split, &words(s), w);
        assert_eq!(
            tip("split -r -o", "-o").as_deref(),
            Some("to pass '-o' as the value of -r, write -r=-o")
        );
        assert_eq!(
            tip("split --regex -o", "-o").as_deref(),
            Some("to pass '-o' as the value of --regex, write --regex=-o")
        );
        assert_eq!(tip("split -o", "-o"), None);
        assert_eq!(tip("split -r, -o", "-o"), None);
    }

    #[test]
    fn options_shell_quote() {
        assert_eq!(shell_quote("count-by-key"), "count-by-key");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
