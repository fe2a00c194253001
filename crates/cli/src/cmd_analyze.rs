//! `huashu analyze` (being written).

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {}

pub fn run(_args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
