//! `huashu loadgen` (being written).

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct LoadgenArgs {}

pub fn run(_args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
