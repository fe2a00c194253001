//! The `huashu` command: one binary for the service and the QA tools.
//!
//! Each subcommand lives in its own `cmd_*.rs`; this file only parses arguments and maps errors
//! to exit codes (0 ok, 1 findings such as lint problems, 2 usage or I/O errors).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod books;
mod cmd_analyze;
mod cmd_check;
mod cmd_csv;
mod cmd_diff;
mod cmd_eval;
mod cmd_examples;
mod cmd_export;
mod cmd_lint;
mod cmd_loadgen;
mod cmd_serve;

#[derive(Parser, Debug)]
#[command(
    name = "huashu",
    version,
    about = "话术 — real-time chat assist for customer-service agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the WebSocket + HTTP service (console at the printed URL).
    Serve(cmd_serve::ServeArgs),
    /// Analyse JSONL turns from stdin, one JSON result per line on stdout.
    Analyze(cmd_analyze::AnalyzeArgs),
    /// Validate a phrasebook directory.
    Lint(cmd_lint::LintArgs),
    /// Measure a phrasebook on a labelled JSONL corpus.
    Eval(cmd_eval::EvalArgs),
    /// The publishing gate: lint, eval both books side by side, diff on chats; exit 1 = refused.
    Check(cmd_check::CheckArgs),
    /// Show what a phrasebook change would alter on past transcripts.
    Diff(cmd_diff::DiffArgs),
    /// Export a book's rules and scripts to CSV, or import them back.
    Csv(cmd_csv::CsvArgs),
    /// Export a book's labelled examples (corpus) to CSV, or import new ones from CSV.
    Examples(cmd_examples::ExamplesArgs),
    /// Export stored conversations as JSONL transcripts (PII masked) for eval/diff.
    Export(cmd_export::ExportArgs),
    /// Drive a running server with simulated widgets and consoles and report latencies.
    Loadgen(cmd_loadgen::LoadgenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => cmd_serve::run(a),
        Command::Analyze(a) => cmd_analyze::run(a),
        Command::Lint(a) => cmd_lint::run(a),
        Command::Eval(a) => cmd_eval::run(a),
        Command::Check(a) => cmd_check::run(a),
        Command::Diff(a) => cmd_diff::run(a),
        Command::Csv(a) => cmd_csv::run(a),
        Command::Examples(a) => cmd_examples::run(a),
        Command::Export(a) => cmd_export::run(a),
        Command::Loadgen(a) => cmd_loadgen::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("huashu: {}", message(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, each cause only when the text so far does not already
/// say it (library errors often print their source too: "cannot read: No such file or directory
/// (os error 2)" must not be followed by the same words again).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
