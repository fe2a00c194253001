//! `huashu lint DIR`: validate a phrasebook the way the service will load it.
//!
//! Prints one problem per line (`file:line: [id] message`) and exits 1 when there are any, so
//! it can gate a CI job or a publishing step.

use std::path::PathBuf;
use std::process::ExitCode;

use huashu_phrasebook::Error;

#[derive(clap::Args, Debug)]
pub struct LintArgs {
    /// Phrasebook directory (e.g. phrasebooks/default).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub fn run(args: LintArgs) -> anyhow::Result<ExitCode> {
    let prefix = args.dir.display().to_string();
    let book = match huashu_phrasebook::load_dir(&args.dir) {
        Ok(b) => b,
        Err(Error::Invalid(problems)) => {
            for p in &problems.0 {
                println!("{prefix}/{p}");
            }
            eprintln!("{} problem(s)", problems.0.len());
            return Ok(ExitCode::from(1));
        }
        Err(e @ Error::Syntax { .. }) => {
            println!("{prefix}/{e}");
            eprintln!("1 problem(s)");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let problems = huashu_engine::lint(&book);
    for p in &problems {
        if p.origin.file.is_empty() {
            println!("{prefix}: {}", p.message);
        } else {
            println!("{prefix}/{p}");
        }
    }
    let examples: usize = book.intents.iter().map(|i| i.examples.len()).sum::<usize>()
        + book
            .emotions
            .iter()
            .map(|e| e.examples.len())
            .sum::<usize>();
    eprintln!(
        "{}: {} rules, {} intents, {} examples, {} corpus lines, {} scripts, {} FAQ entries, hash {}: {} problem(s)",
        book.meta.name,
        book.rules.len(),
        book.intents.len(),
        examples,
        book.corpus.len(),
        book.scripts.len(),
        book.faq.len(),
        book.meta.hash,
        problems.len()
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
