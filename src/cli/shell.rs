//! `cplogs completions SHELL` and `cplogs man`: shell completion scripts and the man
//! page, generated from the one clap definition of the command line.

use std::io::{self, Write};

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use super::exit::Exit;

/// `cplogs completions`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs completions bash > ~/.local/share/bash-completion/completions/cplogs
  cplogs completions zsh > ~/.zfunc/_cplogs
  cplogs completions fish > ~/.config/fish/completions/cplogs.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `cplogs man`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs man > cplogs.1 && man ./cplogs.1
  cplogs man | gzip > /usr/local/share/man/man1/cplogs.1.gz")]
pub struct ManArgs {}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> Result<Exit> {
    // clap_complete panics when its writer fails (a closed pipe): render into memory,
    // then write, so `| head` ends quietly like every other command.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "cplogs", &mut script);
    let mut out = io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(Exit::Success)
}

/// Writes the man page (roff) to stdout.
pub fn man(_: &ManArgs) -> Result<Exit> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    let mut out = io::stdout().lock();
    out.write_all(&page)?;
    out.flush()?;
    Ok(Exit::Success)
}
