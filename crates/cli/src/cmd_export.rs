//! `huashu export --db PATH [--shop S] [--since DATE] [--out FILE]`: stored conversations as
//! JSONL transcripts, one turn per line, in the shape `huashu analyze`, `eval` and `diff` read:
//!
//! `{"conversation":"c-1","id":"m-1","seq":1,"role":"customer","text":"…","at":1732250000000,
//!   "time":"2024-11-22T12:33:20+08:00","shop":"shop-1","book":"<hash>"}`
//!
//! Agent turns stored with the sending agent's id also carry `"agent":"a-7"` (absent otherwise).
//!
//! Texts come out as stored, i.e. with personal data already masked (the store masks on write),
//! so an export can be shared with a QA lead or kept as a regression corpus. The database may be
//! in use by a running server (WAL: reading beside the writer is safe).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use huashu_store::{Durability, Location, Store, day_start_ms, local_day};

/// Days are the shops' local days (Asia/Shanghai), as in the QA page.
const TZ_OFFSET_MIN: i32 = 480;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The service's database (`huashu serve --db`: a path, `sqlite:PATH` or `postgres://…`).
    #[arg(long, value_name = "DB")]
    db: Location,
    /// Only this shop's conversations.
    #[arg(long, value_name = "SHOP")]
    shop: Option<String>,
    /// Only turns on or after this local date (YYYY-MM-DD, UTC+8).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `at` as local time, RFC 3339 with the +08:00 offset (for people reading the file).
fn local_time(ms: i64) -> String {
    let day = local_day(ms, TZ_OFFSET_MIN);
    let secs = (ms + i64::from(TZ_OFFSET_MIN) * 60_000).div_euclid(1000);
    let s = secs.rem_euclid(86_400);
    format!(
        "{day}T{:02}:{:02}:{:02}+08:00",
        s / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = args.db.sqlite_path()
        && !path.is_file()
    {
        bail!("no database at {}", path.display());
    }
    let since = match &args.since {
        Some(d) => Some(
            day_start_ms(d, TZ_OFFSET_MIN)
                .with_context(|| format!("--since {d:?}: expected a date YYYY-MM-DD"))?,
        ),
        None => None,
    };
    let store = Store::connect(&args.db, Durability::Normal)
        .with_context(|| format!("opening {}", args.db))?;
    let turns = store
        .transcript(args.shop.as_deref(), since, None)
        .context("reading turns")?;
    let sink: Box<dyn Write> = match &args.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(sink);
    let mut conversations = std::collections::HashSet::new();
    for t in &turns {
        conversations.insert(t.conversation.as_str());
        let mut line = serde_json::json!({
            "conversation": t.conversation, "id": t.id, "seq": t.seq, "role": t.role,
            "text": t.text, "at": t.at, "time": local_time(t.at), "shop": t.shop, "book": t.book,
        });
        if let (Some(agent), Some(obj)) = (&t.agent, line.as_object_mut()) {
            obj.insert("agent".into(), agent.as_str().into());
        }
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "exported {} turns of {} conversations",
        turns.len(),
        conversations.len()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_time_is_shop_time() {
        // 2024-11-22T04:33:20Z
        assert_eq!(
            super::local_time(1_732_250_000_000),
            "2024-11-22T12:33:20+08:00"
        );
    }
}
