//! `huashu check CANDIDATE --against PUBLISHED [--corpus FILE…] [--transcripts FILE…]`: the
//! publishing gate on the command line, the same `huashu_engine::check` that the QA page, `POST
//! /api/reload` and SIGHUP run, so a refusal here is a refusal everywhere.
//!
//! Prints both books' figures side by side per corpus, the diff on the transcripts, and the
//! reasons for a refusal. Exit 0 when the candidate may be published, 1 when it is refused (the
//! reasons on stderr), 2 on usage or I/O errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use huashu_engine::{
    BookCorpus, CheckOptions, Engine, Side, Tolerance, TranscriptLine, parse_corpus,
};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The edited phrasebook directory.
    #[arg(value_name = "CANDIDATE")]
    candidate: PathBuf,
    /// The published phrasebook directory (what the service runs now).
    #[arg(long, value_name = "DIR")]
    against: PathBuf,
    /// Labelled JSONL corpora (`huashu eval` format) to evaluate both books on (repeatable),
    /// besides the built-in agent lines and the candidate's own corpus.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    corpus: Vec<PathBuf>,
    /// JSONL transcripts (`huashu export` output) to diff both books on (repeatable).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    transcripts: Vec<PathBuf>,
    /// Largest allowed drop of intent macro-F1, primary-intent and emotion accuracy (0–1).
    #[arg(long, value_name = "X", default_value_t = Tolerance::default().intent_f1)]
    tolerance: f64,
    /// Evaluate on an even sample of the books' own training lines instead of a held-out split
    /// of the candidate's corpus (faster: no extra compile; training-set figures).
    #[arg(long)]
    training_sample: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let published = Engine::load(&args.against)
        .with_context(|| format!("loading the published book {}", args.against.display()))?;
    let mut opts = CheckOptions {
        tolerance: Tolerance {
            intent_f1: args.tolerance,
            intent_accuracy: args.tolerance,
            emotion_accuracy: args.tolerance,
            ..Tolerance::default()
        },
        book_corpus: if args.training_sample {
            BookCorpus::TrainingSample
        } else {
            BookCorpus::HeldOut
        },
        ..Default::default()
    };
    for file in &args.corpus {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let (corpus, bad) = parse_corpus(&file.display().to_string(), &text);
        for b in bad {
            eprintln!("{}:{b}: skipped", file.display());
        }
        if !corpus.lines.iter().any(|(_, l)| l.is_labelled()) {
            anyhow::bail!("{}: no labelled line to evaluate", file.display());
        }
        opts.corpora.push(corpus);
    }
    let mut n = 0;
    for file in &args.transcripts {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for (i, raw) in text.lines().enumerate() {
            n += 1;
            if raw.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<TranscriptLine>(raw) {
                Ok(l) => opts.transcripts.push((n, l)),
                Err(e) => eprintln!("{}:{}: skipped: {e}", file.display(), i + 1),
            }
        }
    }
    let report = huashu_engine::check(&args.candidate, &published, &opts);
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["problems"] = report
            .problems
            .iter()
            .map(|p| serde_json::Value::String(p.to_string()))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for p in &report.problems {
            println!("{p}");
        }
        println!(
            "published: {}\ncandidate: {}",
            report.published,
            report.candidate.as_deref().unwrap_or("(does not compile)")
        );
        for e in &report.evals {
            print_delta(&e.corpus, &e.published, &e.candidate);
            for line in &e.newly_flagged_benign {
                println!("  newly flagged benign line {line}");
            }
        }
        if let Some(d) = &report.diff {
            println!();
            crate::cmd_diff::print_text(d);
        }
    }
    if report.ok {
        eprintln!("check passed: the candidate may be published");
        Ok(ExitCode::SUCCESS)
    } else {
        for r in &report.refusals {
            eprintln!("refused: {}", r.message);
        }
        Ok(ExitCode::from(1))
    }
}

fn print_delta(corpus: &str, a: &Side, b: &Side) {
    println!(
        "\n{corpus}: {} customer, {} agent lines",
        b.customer_lines, b.agent_lines
    );
    println!(
        "  {:<26} {:>9} {:>9} {:>8}",
        "", "published", "candidate", "delta"
    );
    let row = |name: &str, x: f64, y: f64, show: bool| {
        if show {
            println!("  {name:<26} {x:>9.3} {y:>9.3} {:>+8.3}", y - x);
        }
    };
    let customers = b.customer_lines > 0;
    let agents = b.agent_lines > 0;
    row(
        "intent macro-F1",
        a.intent_macro_f1,
        b.intent_macro_f1,
        customers,
    );
    row(
        "primary intent accuracy",
        a.primary_intent_accuracy,
        b.primary_intent_accuracy,
        customers,
    );
    row(
        "emotion accuracy",
        a.emotion_accuracy,
        b.emotion_accuracy,
        customers,
    );
    row(
        "guard recall",
        a.guard_recall,
        b.guard_recall,
        b.guard_flagged > 0,
    );
    row(
        "guard false-alarm rate",
        a.guard_false_alarm_rate,
        b.guard_false_alarm_rate,
        agents && b.guard_benign > 0,
    );
}
