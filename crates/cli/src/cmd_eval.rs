//! `huashu eval FILE [--json]`: precision/recall of a phrasebook on a labelled JSONL corpus, and
//! where it fails (per-intent figures, confusion matrices, calm turns shown negative, calibration,
//! the "not sure" rate), for all rows and for the strict (not ambiguous) rows.
//!
//! Bad lines are reported on stderr with their line number and skipped; the figures cover the
//! lines that parsed. A file with no labelled line is an error. Exit code 0 unless a `--min-*` /
//! `--max-*` gate is given and missed (then 1), so a CI job can refuse a phrasebook change that
//! makes detection worse.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use huashu_engine::{Engine, EvalOptions, EvalReport, Figures, LabelledLine, Rows, evaluate_with};
use huashu_phrasebook::{EMOTIONS, INTENTS};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum RowsArg {
    #[default]
    All,
    Even,
    Odd,
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Labelled JSONL corpus (`tests/corpus/eval.jsonl` format or a development set with
    /// `ambiguous` and `context`).
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
    /// Replay each line's `context` turns into a fresh conversation before it.
    #[arg(long)]
    context: bool,
    /// Score only the lines with an even or odd line number (tune on one half, check the other).
    #[arg(long, value_enum, default_value_t = RowsArg::All)]
    rows: RowsArg,
    /// Apply the gates below to the strict rows (not ambiguous) instead of all rows.
    #[arg(long)]
    strict: bool,
    /// Fail (exit 1) when intent macro-F1 is below this.
    #[arg(long)]
    min_intent_f1: Option<f64>,
    /// Fail when the exact primary-intent accuracy is below this.
    #[arg(long)]
    min_intent_acc: Option<f64>,
    /// Fail when emotion accuracy is below this.
    #[arg(long, alias = "min-emotion-accuracy")]
    min_emotion_acc: Option<f64>,
    /// Fail when negative-emotion F1 (anger/anxiety/disappointment vs the rest) is below this.
    #[arg(long)]
    min_negative_f1: Option<f64>,
    /// Fail when the share of calm turns shown negative is above this.
    #[arg(long)]
    max_calm_flagged: Option<f64>,
    /// Fail when more turns than this are wrongly marked urgent.
    #[arg(long)]
    max_wrongly_urgent: Option<usize>,
    /// Fail when the guard's false-alarm rate on benign agent lines is above this.
    #[arg(long)]
    max_guard_false_alarms: Option<f64>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let dir = args
        .phrasebooks
        .clone()
        .unwrap_or_else(crate::books::default_book);
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
    if !lines.iter().any(|(_, l)| l.is_labelled()) {
        anyhow::bail!("{}: no labelled line to evaluate", args.file.display());
    }
    let opts = EvalOptions {
        replay_context: args.context,
        rows: match args.rows {
            RowsArg::All => Rows::All,
            RowsArg::Even => Rows::Even,
            RowsArg::Odd => Rows::Odd,
        },
    };
    let report = evaluate_with(&engine, &lines, opts);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report, args.show);
    }
    let failed = gates(&args, &report);
    for f in &failed {
        eprintln!("gate failed: {f}");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The gates that were given and missed, as readable lines.
fn gates(args: &EvalArgs, r: &EvalReport) -> Vec<String> {
    let (f, which) = if args.strict {
        (&r.strict, "strict")
    } else {
        (&r.all, "all rows")
    };
    let mut failed = Vec::new();
    let mut min = |name: &str, got: f64, want: Option<f64>| {
        if let Some(want) = want
            && got < want
        {
            failed.push(format!("{name} {got:.3} < {want} ({which})"));
        }
    };
    min("intent macro-F1", f.intent_macro_f1, args.min_intent_f1);
    min(
        "primary intent accuracy",
        f.primary_intent_exact,
        args.min_intent_acc,
    );
    min("emotion accuracy", f.emotion_accuracy, args.min_emotion_acc);
    min("negative-emotion F1", f.negative.f1, args.min_negative_f1);
    if let Some(max) = args.max_calm_flagged
        && f.calm_flagged_rate > max
    {
        failed.push(format!(
            "calm turns flagged {:.3} > {max} ({which})",
            f.calm_flagged_rate
        ));
    }
    if let Some(max) = args.max_wrongly_urgent
        && f.wrongly_urgent > max
    {
        failed.push(format!(
            "wrongly urgent {} > {max} ({which})",
            f.wrongly_urgent
        ));
    }
    if let Some(max) = args.max_guard_false_alarms
        && r.guard_false_alarm_rate > max
    {
        failed.push(format!(
            "guard false-alarm rate {:.3} > {max}",
            r.guard_false_alarm_rate
        ));
    }
    failed
}

fn print_text(r: &EvalReport, show: usize) {
    println!(
        "book {} ({}): {} customer lines ({} strict), {} agent lines",
        r.book, r.book_hash, r.customer_lines, r.strict_lines, r.agent_lines
    );
    if r.customer_lines > 0 {
        let a = &r.all;
        println!("\nintent            support  prec   recall f1     (all rows)");
        for id in INTENTS {
            if let Some(p) = a.intents.get(*id)
                && (p.support > 0 || p.predicted > 0)
            {
                println!(
                    "{id:<17} {:>7}  {:.3}  {:.3}  {:.3}",
                    p.support, p.precision, p.recall, p.f1
                );
            }
        }
        let both = r.strict_lines < r.customer_lines;
        let s = &r.strict;
        let row = |name: &str, get: &dyn Fn(&Figures) -> String| {
            if both {
                println!("{name:<28} {:>8} {:>8}", get(a), get(s));
            } else {
                println!("{name:<28} {:>8}", get(a));
            }
        };
        println!();
        if both {
            println!("{:<28} {:>8} {:>8}", "", "all", "strict");
        }
        row("lines", &|f| f.lines.to_string());
        row("intent macro-F1", &|f| format!("{:.3}", f.intent_macro_f1));
        row("primary intent exact", &|f| {
            format!("{:.3}", f.primary_intent_exact)
        });
        row("primary intent in gold", &|f| {
            format!("{:.3}", f.primary_intent_accuracy)
        });
        row("intent not-sure rate", &|f| {
            format!("{:.3}", f.not_sure_rate)
        });
        row("exact when confident", &|f| {
            format!("{:.3}", f.confident_exact)
        });
        row("intent calibration (ECE)", &|f| {
            format!("{:.3}", f.intent_ece)
        });
        row("emotion accuracy", &|f| {
            format!("{:.3}", f.emotion_accuracy)
        });
        row("negative-emotion F1", &|f| format!("{:.3}", f.negative.f1));
        row("calm turns shown negative", &|f| {
            format!("{:.3}", f.calm_flagged_rate)
        });
        row("wrongly urgent", &|f| f.wrongly_urgent.to_string());
        println!(
            "urgent recall {:.3} ({}/{}), precision {:.3}",
            a.urgent.recall, a.urgent.correct, a.urgent.support, a.urgent.precision
        );
        print!("\nintent reliability, all rows (score tenth: lines / exact share)\n ");
        for (i, (n, _, acc)) in a.intent_reliability.iter().enumerate() {
            if *n > 0 {
                print!(" {:.1}+: {n}/{acc:.2}", i as f64 / 10.0);
            }
        }
        println!();
        println!("\nprimary intent confusion, all rows (rows gold, columns predicted)");
        confusion(&a.intent_confusion, INTENTS, 5);
        println!("\nemotion confusion, all rows (rows gold, columns predicted)");
        confusion(&a.emotion_confusion, EMOTIONS, 15);
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

/// A confusion table; columns are labelled by the first `width - 1` chars of each label.
fn confusion(m: &BTreeMap<String, BTreeMap<String, usize>>, labels: &[&str], width: usize) {
    let head = |l: &str| l.chars().take(width - 1).collect::<String>();
    print!("{:<17}", "");
    for l in labels {
        print!("{:>width$}", head(l));
    }
    println!();
    for gold in labels {
        if let Some(row) = m.get(*gold) {
            print!("{gold:<17}");
            for l in labels {
                print!("{:>width$}", row.get(*l).copied().unwrap_or(0));
            }
            println!();
        }
    }
}
