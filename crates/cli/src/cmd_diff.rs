//! `huashu diff --old DIR --new DIR TRANSCRIPTS…`: what a phrasebook change would alter.
//!
//! Exit codes make it a CI gate: with `--fail-on gained-hits` a benign corpus that gains guard
//! hits fails the job (exit 1); `lost-hits` protects a flagged corpus; `any` refuses any change.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use huashu_engine::{Change, DiffReport, Engine, TranscriptLine, diff};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Fail when some agent line gains a block/warn hit.
    GainedHits,
    /// Fail when some agent line loses its block/warn hit.
    LostHits,
    /// Fail on any observable change.
    Any,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The published phrasebook directory.
    #[arg(long, value_name = "DIR")]
    old: PathBuf,
    /// The edited phrasebook directory.
    #[arg(long, value_name = "DIR")]
    new: PathBuf,
    /// JSONL transcripts (`{"role","text","conversation"?}` per line; eval and export files fit).
    #[arg(value_name = "TRANSCRIPTS", required = true)]
    files: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Exit 1 when this kind of change happens.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old = Engine::load(&args.old).with_context(|| format!("loading {}", args.old.display()))?;
    let new = Engine::load(&args.new).with_context(|| format!("loading {}", args.new.display()))?;
    let mut lines = Vec::new();
    let mut n = 0;
    for file in &args.files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for (i, raw) in text.lines().enumerate() {
            n += 1;
            if raw.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<TranscriptLine>(raw) {
                Ok(l) => lines.push((n, l)),
                Err(e) => eprintln!("{}:{}: skipped: {e}", file.display(), i + 1),
            }
        }
    }
    let report = diff(&old, &new, &lines);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    let failed = match args.fail_on {
        None => false,
        Some(FailOn::GainedHits) => report.lines_newly_flagged > 0,
        Some(FailOn::LostHits) => report.lines_no_longer_flagged > 0,
        Some(FailOn::Any) => !report.is_empty(),
    };
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn section(title: &str, map: &std::collections::BTreeMap<String, Change>) {
    if map.is_empty() {
        return;
    }
    println!("\n{title}");
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    for (key, change) in rows {
        println!("  {:>5}  {key}", change.count);
        for ex in &change.examples {
            println!("         e.g. line {ex}");
        }
    }
}

pub(crate) fn print_text(r: &DiffReport) {
    println!("old: {}\nnew: {}", r.old_book, r.new_book);
    println!(
        "replayed {} customer and {} agent lines",
        r.customer_lines, r.agent_lines
    );
    println!(
        "agent lines newly flagged: {}, no longer flagged: {}",
        r.lines_newly_flagged, r.lines_no_longer_flagged
    );
    if r.is_empty() {
        println!("no change");
        return;
    }
    section("guard hits gained (by rule)", &r.hits_gained);
    section("guard hits lost (by rule)", &r.hits_lost);
    section("primary intent changes", &r.intent_changes);
    section("emotion changes", &r.emotion_changes);
    section("urgent changes", &r.urgent_changes);
    section("top suggestion changes", &r.top_suggestion_changes);
}
