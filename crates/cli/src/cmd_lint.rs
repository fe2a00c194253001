//! `huashu lint` (being written).

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct LintArgs {}

pub fn run(_args: LintArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
