//! `huashu eval FILE [--json]`: precision/recall of a phrasebook on a labelled JSONL corpus.
//!
//! Bad lines are reported on stderr with their line number and skipped; the figures cover the
//! lines that parsed. Exit code 0 unless a `--min-*` threshold is given and missed (then 1), so a
//! CI job can refuse a phrasebook change that makes detection worse.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use huashu_engine::{Engine, EvalReport, LabelledLine, evaluate};
use huashu_phrasebook::{EMOTIONS, INTENTS};

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Labelled JSONL corpus.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Phrasebook directory (default: the shipped `phrasebooks/default`).
    #[arg(long, value_name = "DIR")]
    phrasebooks: Option<PathBuf>,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
    /// How many misclassified lines to list (text output).
    #[arg(long, default_value_t = 40)]
    show: usize,
    /// Fail (exit 1) when intent macro-F1 is below this.
    #[arg(long)]
    min_intent_f1: Option<f64>,
    /// Fail (exit 1) when emotion accuracy is below this.
    #[arg(long)]
    min_emotion_accuracy: Option<f64>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let dir = args.phrasebooks.unwrap_or_else(crate::books::default_book);
    let engine = Engine::load(&dir).with_context(|| format!("loading {}", dir.display()))?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LabelledLine>(raw) {
            Ok(l) => lines.push((i + 1, l)),
            Err(e) => eprintln!("{}:{}: skipped: {e}", args.file.display(), i + 1),
        }
    }
    let report = evaluate(&engine, &lines);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report, args.show);
    }
    let mut ok = true;
    if let Some(min) = args.min_intent_f1 {
        ok &= report.intent_macro_f1 >= min;
    }
    if let Some(min) = args.min_emotion_accuracy {
        ok &= report.emotion_accuracy >= min;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_text(r: &EvalReport, show: usize) {
    println!(
        "book {} ({}): {} customer lines, {} agent lines",
        r.book, r.book_hash, r.customer_lines, r.agent_lines
    );
    if r.customer_lines > 0 {
        println!("\nintent            support  prec   recall f1");
        for id in INTENTS {
            if let Some(p) = r.intents.get(*id)
                && (p.support > 0 || p.predicted > 0)
            {
                println!(
                    "{id:<17} {:>7}  {:.3}  {:.3}  {:.3}",
                    p.support, p.precision, p.recall, p.f1
                );
            }
        }
        println!("intent macro-F1          {:.3}", r.intent_macro_f1);
        println!("primary intent accuracy  {:.3}", r.primary_intent_accuracy);
        println!("emotion accuracy         {:.3}", r.emotion_accuracy);
        println!(
            "urgent recall            {:.3} ({}/{}), precision {:.3}",
            r.urgent.recall, r.urgent.correct, r.urgent.support, r.urgent.precision
        );
        print!(
            "\nemotion confusion (rows gold, columns predicted)\n{:<15}",
            ""
        );
        for e in EMOTIONS {
            print!("{e:>15}");
        }
        println!();
        for gold in EMOTIONS {
            if let Some(row) = r.emotion_confusion.get(*gold) {
                print!("{gold:<15}");
                for e in EMOTIONS {
                    print!("{:>15}", row.get(*e).copied().unwrap_or(0));
                }
                println!();
            }
        }
    }
    if r.agent_lines > 0 {
        println!(
            "\nguard recall {:.3} (category recall {:.3}) on {} flagged lines; false-alarm rate {:.3} on {} benign lines",
            r.guard_recall,
            r.guard_category_recall,
            r.guard_flagged,
            r.guard_false_alarm_rate,
            r.guard_benign
        );
    }
    if !r.misses.is_empty() && show > 0 {
        println!(
            "\nmisclassified ({} in all, first {}):",
            r.misses.len(),
            show.min(r.misses.len())
        );
        for m in r.misses.iter().take(show) {
            println!(
                "  line {:>4} {:<17} expected {:<28} got {:<40} {}",
                m.line, m.what, m.expected, m.got, m.text
            );
        }
    }
}
