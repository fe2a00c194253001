//! `huashu analyze` **(fixed contract)**: JSONL turns on stdin → one JSON result per line.
//!
//! Conversation state is kept per `conversation` id, so repeated asks, emotion trends and
//! no-repeat suggestions work as in the service; a line without an id is analysed on its own.
//! A bad line yields `{"error":"…","line":N}` and processing goes on.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use huashu_engine::{AnalyzeLine, ConversationState, Engine};
use serde::Deserialize;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Phrasebook directory (default: the shipped `phrasebooks/default`).
    #[arg(long, value_name = "DIR")]
    phrasebooks: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Turn {
    role: Role,
    text: String,
    #[serde(default)]
    conversation: Option<String>,
    /// Milliseconds since the epoch (optional).
    #[serde(default)]
    at: Option<i64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Role {
    Customer,
    Agent,
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let dir = args.phrasebooks.unwrap_or_else(crate::books::default_book);
    let engine = Engine::load(&dir).with_context(|| format!("loading {}", dir.display()))?;
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    analyze_stream(&engine, stdin, stdout)?;
    Ok(ExitCode::SUCCESS)
}

/// The whole command minus argument parsing: reads `input` to the end.
pub fn analyze_stream(
    engine: &Engine,
    mut input: impl BufRead,
    output: impl Write,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(output);
    let mut conversations: HashMap<String, ConversationState> = HashMap::new();
    let mut raw = Vec::new();
    let mut line_no = 0usize;
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        line_no += 1;
        let result = match std::str::from_utf8(&raw) {
            Err(e) => Err(format!("line is not UTF-8: {e}")),
            Ok(line) if line.trim().is_empty() => Err("empty line".to_string()),
            Ok(line) => serde_json::from_str::<Turn>(line.trim_end_matches(['\n', '\r']))
                .map_err(|e| format!("bad turn: {e}")),
        };
        match result {
            Ok(turn) => {
                let mut scratch = ConversationState::new();
                let state = match &turn.conversation {
                    Some(id) => conversations.entry(id.clone()).or_default(),
                    None => &mut scratch,
                };
                let line: AnalyzeLine = match turn.role {
                    Role::Customer => engine.customer_turn(state, &turn.text, turn.at).into(),
                    Role::Agent => engine.agent_turn(state, &turn.text, turn.at).into(),
                };
                serde_json::to_writer(&mut out, &line)?;
            }
            Err(error) => {
                serde_json::to_writer(
                    &mut out,
                    &serde_json::json!({ "error": error, "line": line_no }),
                )?;
            }
        }
        out.write_all(b"\n")?;
        if input.fill_buf()?.is_empty() {
            out.flush()?;
        }
    }
    out.flush()
}
