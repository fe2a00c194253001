//! `huashu eval` (being written).

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {}

pub fn run(_args: EvalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
