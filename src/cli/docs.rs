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

/// Every generated file: path relative to the crate root, and contents.
pub fn generated_files() -> Vec<(&'static str, String)> {
    vec![
        ("man/spate.1", man_page()),
        ("completions/spate.bash", completion(Shell::Bash)),
        ("completions/_spate", completion(Shell::Zsh)),
        ("completions/spate.fish", completion(Shell::Fish)),
    ]
}
