//! The man page and shell completions, generated from the same clap
//! definitions that parse the command line: the global command plus one
//! subcommand per operator of the registry.

use clap::Command;
use clap_complete::Shell;

use crate::ops::{REGISTRY, command_for};

/// The global command with every operator as a subcommand, for the docs.
pub fn doc_command() -> Command {
    let base = super::command();
    let base = base.mut_arg("chain", |a| a.hide(true));
    REGISTRY.iter().fold(base, |cmd, op| {
        cmd.subcommand(command_for(*op).bin_name(op.name()))
    })
}

/// man/spate.1, as roff.
pub fn man_page() -> String {
    let mut out = Vec::new();
    let cmd = doc_command();
    // write_to only fails on I/O, and a Vec does not fail
    clap_mangen::Man::new(cmd)
        .date("2026-11-25")
        .render(&mut out)
        .expect("invariant: rendering into memory cannot fail");
    String::from_utf8_lossy(&out).into_owned()
}

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> String {
    let mut out = Vec::new();
    let mut cmd = doc_command();
    clap_complete::generate(shell, &mut cmd, "spate", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page of one operator (`spate-count-by-key.1`), with its options.
pub fn operator_man_page(op: &dyn crate::ops::Operator) -> String {
    let mut out = Vec::new();
    let cmd = command_for(op).name(format!("spate-{}", op.name()));
    clap_mangen::Man::new(cmd)
        .date("2026-11-25")
        .render(&mut out)
        .expect("invariant: rendering into memory cannot fail");
    String::from_utf8_lossy(&out).into_owned()
}

/// Every generated file: path relative to the crate root, and contents.
pub fn generated_files() -> Vec<(String, String)> {
    let mut files = vec![
        ("man/spate.1".to_string(), man_page()),
        (
            "completions/spate.bash".to_string(),
            completion(Shell::Bash),
        ),
        ("completions/_spate".to_string(), completion(Shell::Zsh)),
        (
            "completions/spate.fish".to_string(),
            completion(Shell::Fish),
        ),
    ];
    for op in REGISTRY {
        files.push((format!("man/spate-{}.1", op.name()), operator_man_page(*op)));
    }
    files
}
