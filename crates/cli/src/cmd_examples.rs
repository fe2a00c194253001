//! `huashu examples export DIR --out FILE` / `huashu examples import DIR FILE [--by NAME]`: a
//! book's labelled customer lines (its corpus) as Excel-friendly CSV and back, for labelling in
//! bulk. Import validates every row (problems name the row Excel shows), then appends the new
//! examples to `DIR/corpus/labelled.tsv` exactly as the QA page's labelling queue does (masked
//! text is expected: export only ever contains what the corpus holds).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use huashu_phrasebook::{append_labelled, examples_from_csv, examples_to_csv, load_dir};

#[derive(clap::Args, Debug)]
pub struct ExamplesArgs {
    #[command(subcommand)]
    command: ExamplesCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ExamplesCommand {
    /// Write the book's corpus as CSV (UTF-8 with BOM): intents, emotion, text, source.
    Export {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Append the CSV's new rows to DIR's corpus/labelled.tsv (attributed to --by, dated today).
    Import {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_name = "NAME", default_value = "csv")]
        by: String,
        /// Date for the `# by` line (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
}

pub fn run(args: ExamplesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ExamplesCommand::Export { dir, out } => {
            let book = load_dir(&dir)?;
            std::fs::write(&out, examples_to_csv(&book.corpus))
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} ({} examples)", out.display(), book.corpus.len());
            Ok(ExitCode::SUCCESS)
        }
        ExamplesCommand::Import {
            dir,
            file,
            by,
            date,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let examples = match examples_from_csv(&name, &text) {
                Ok(e) => e,
                Err(problems) => {
                    for p in &problems.0 {
                        eprintln!("{p}");
                    }
                    return Ok(ExitCode::from(1));
                }
            };
            let date = date.unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                huashu_store::local_day(now, 0)
            });
            let r = append_labelled(&dir, &examples, &by, &date)?;
            for c in &r.conflicts {
                eprintln!("conflict (not written): {c}");
            }
            for c in &r.invalid {
                eprintln!("invalid (not written): {c}");
            }
            eprintln!(
                "{}: {} written, {} already there, {} conflicts",
                r.file.display(),
                r.written,
                r.skipped.len(),
                r.conflicts.len()
            );
            Ok(if r.conflicts.is_empty() && r.invalid.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
