//! QA figures computed from what the service stored: per agent and day (turns handled, response
//! times, SLA breaches, forbidden-phrase hits, compliance), per script (shown / used / edited /
//! dismissed), the intent and emotion mix, the customer turns the book did not understand, urgent
//! turns and how fast they were answered, and which phrasebook versions produced the events.
//! Also the transcript reader behind `huashu export` and the publishing dry run.
//!
//! SQL selects the rows of one shop and period; the figures are folded in Rust, because medians
//! and the walk through a conversation's turns (who waited how long) are awkward in SQLite.
//! Every definition is documented on the field that carries it (and in docs/QA.md).
//!
//! Agent attribution: an agent turn is credited to the agent stored with it (`turns.agent`: the
//! console's agent id for `send`, the widget's `agent` field for an agent `turn`). Turns without
//! one (stored before the column existed, or from a widget that sent none) fall back to the
//! conversation's owner: the agent who acted on it most (suggestion feedback and checked drafts
//! both carry the agent id; ties go to the smallest id), else the empty agent id `""`
//! ("unattributed"). SLA events and drafts without an agent id are credited to that owner too.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::sql::params;
use crate::store::{Error, Store};

const DAY_MS: i64 = 86_400_000;

/// What to compute: one shop, the local days `[from_ms, to_ms)`.
#[derive(Debug, Clone)]
pub struct AnalyticsQuery {
    pub shop: String,
    /// Start (inclusive) and end (exclusive) in ms since the epoch.
    pub from_ms: i64,
    pub to_ms: i64,
    /// The shop's offset from UTC in minutes (Asia/Shanghai: 480); days are local days.
    pub tz_offset_min: i32,
    /// A customer turn whose best intent scores below this counts as low-confidence.
    pub low_confidence: f64,
    /// How many low-confidence and urgent turns to list (the counts cover all of them).
    pub list_limit: usize,
}

impl AnalyticsQuery {
    /// The local days `from..=to` (`YYYY-MM-DD`), with the defaults (UTC+8, 0.6, 50).
    pub fn days(shop: &str, from: &str, to: &str) -> Option<AnalyticsQuery> {
        let tz = 480;
        Some(AnalyticsQuery {
            shop: shop.to_string(),
            from_ms: day_start_ms(from, tz)?,
            to_ms: day_start_ms(to, tz)? + DAY_MS,
            tz_offset_min: tz,
            low_confidence: 0.6,
            list_limit: 50,
        })
    }
}

/// Forbidden-phrase hits of one category (block and warn severities; hints are style advice).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CategoryHits {
    /// Sent agent turns with at least one block/warn hit of this category.
    pub sent: u64,
    /// Flagged drafts with a hit of this category (caught before sending).
    pub drafted: u64,
    /// Of those drafts, how many the agent rewrote (the next sent turn no longer had the rule).
    pub rewritten: u64,
}

/// The figures of one agent on one day (or aggregated: see `agent` and `day`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentDay {
    /// `None` in rows that add up all agents; `Some("")` for unattributed turns.
    pub agent: Option<String>,
    /// Local date `YYYY-MM-DD`; `None` in rows that add up the whole period.
    pub day: Option<String>,
    /// Agent turns sent (turns handled).
    pub turns: u64,
    /// Conversations with at least one of those turns.
    pub conversations: u64,
    /// Mean of first-response times: from a conversation's first customer turn to its first
    /// agent turn (conversations opened by the customer and first answered in this row).
    pub first_response_ms: Option<i64>,
    pub first_responses: u64,
    /// Median response time: for every agent turn that answers a waiting customer, the time since
    /// the first customer turn left unanswered (turn `at` times). Even counts take the lower
    /// middle value's mean with the upper one, rounded down.
    pub response_median_ms: Option<i64>,
    pub responses: u64,
    /// SLA `breach` events (the customer waited past the breach threshold) and `warn` events.
    pub sla_breaches: u64,
    pub sla_warnings: u64,
    /// Sent agent turns without any block/warn hit.
    pub compliant_turns: u64,
    /// Compliance score: `compliant_turns / turns` (0..1), `None` without turns.
    pub compliance: Option<f64>,
    /// Forbidden-phrase hits by category.
    pub hits: BTreeMap<String, CategoryHits>,
}

/// What agents did with one script's suggestions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScriptUse {
    pub script: String,
    /// Times the script was among the suggestions pushed to a console.
    pub shown: u64,
    pub used: u64,
    pub edited: u64,
    pub dismissed: u64,
    /// `used / shown`, `edited / shown`, `dismissed / shown`; `None` when never shown.
    pub used_rate: Option<f64>,
    pub edited_rate: Option<f64>,
    pub dismissed_rate: Option<f64>,
}

/// A customer turn worth a look (low confidence or urgent). `text` is masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnRef {
    pub conversation: String,
    pub turn: String,
    pub at: i64,
    pub text: String,
    /// Primary intent (`other` when none) and its score.
    pub intent: String,
    pub score: f64,
    pub emotion: String,
    /// Urgent turns: ms until the next agent turn, `None` when still unanswered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handling_ms: Option<i64>,
    /// Low-confidence turns: up to two previous turns of the conversation, oldest first, as
    /// `顾客：…` / `客服：…` (masked like everything stored), for the labelling queue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
}

/// Urgent customer turns and how fast they were answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Urgent {
    pub count: u64,
    pub answered: u64,
    /// Median time from an urgent customer turn to the next agent turn (answered ones).
    pub handling_median_ms: Option<i64>,
    pub max_handling_ms: Option<i64>,
    /// Most recent first, at most `list_limit`.
    pub turns: Vec<TurnRef>,
}

/// The events one phrasebook version (hash) produced in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookUse {
    pub hash: String,
    pub events: u64,
    pub first_at: i64,
    pub last_at: i64,
}

/// Everything `GET /api/analytics` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Analytics {
    pub shop: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// All agents over the whole period.
    pub total: AgentDay,
    /// One row per agent (whole period), per day (all agents), per agent and day.
    pub by_agent: Vec<AgentDay>,
    pub by_day: Vec<AgentDay>,
    pub by_agent_day: Vec<AgentDay>,
    /// Most shown first.
    pub scripts: Vec<ScriptUse>,
    /// Customer turns by primary intent and by emotion label, most frequent first.
    pub intents: Vec<(String, u64)>,
    pub emotions: Vec<(String, u64)>,
    pub customer_turns: u64,
    /// Customer turns with no intent, primary intent `other`, or a best score below the
    /// threshold: examples to add to the book. Most recent first, at most `list_limit`.
    pub low_confidence_count: u64,
    pub low_confidence: Vec<TurnRef>,
    pub urgent: Urgent,
    pub books: Vec<BookUse>,
}

/// One stored turn as `huashu export` writes it (the `huashu analyze` input plus ids and times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TranscriptTurn {
    pub conversation: String,
    pub id: String,
    pub seq: u64,
    pub role: String,
    /// Masked when it was stored.
    pub text: String,
    /// Client time in ms since the epoch (server time when the client sent none).
    pub at: i64,
    pub shop: String,
    /// Hash of the phrasebook that analysed the turn.
    pub book: String,
    /// Agent turns: the agent who sent it, when it was stored with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// `YYYY-MM-DD` at local midnight (`tz_offset_min` east of UTC) in ms since the epoch.
pub fn day_start_ms(date: &str, tz_offset_min: i32) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * DAY_MS - i64::from(tz_offset_min) * 60_000)
}

/// The local date (`YYYY-MM-DD`) of an instant.
pub fn local_day(ms: i64, tz_offset_min: i32) -> String {
    let z = (ms + i64::from(tz_offset_min) * 60_000).div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Median, rounding the mean of the two middle values down.
fn median(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]).div_euclid(2)
    })
}

fn rate(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

#[derive(Debug, Default)]
struct Acc {
    turns: u64,
    conversations: HashSet<String>,
    first: Vec<i64>,
    responses: Vec<i64>,
    breaches: u64,
    warnings: u64,
    compliant: u64,
    hits: BTreeMap<String, CategoryHits>,
}

impl Acc {
    fn finish(mut self, agent: Option<String>, day: Option<String>) -> AgentDay {
        let first_responses = self.first.len() as u64;
        let first_response_ms = (!self.first.is_empty()).then(|| {
            self.first
                .iter()
                .sum::<i64>()
                .div_euclid(self.first.len() as i64)
        });
        AgentDay {
            agent,
            day,
            turns: self.turns,
            conversations: self.conversations.len() as u64,
            first_response_ms,
            first_responses,
            responses: self.responses.len() as u64,
            response_median_ms: median(&mut self.responses),
            sla_breaches: self.breaches,
            sla_warnings: self.warnings,
            compliant_turns: self.compliant,
            compliance: rate(self.compliant, self.turns),
            hits: self.hits,
        }
    }
}

/// Accumulators for (agent, day) with `None` meaning "all".
#[derive(Debug, Default)]
struct Grid(HashMap<(Option<String>, Option<String>), Acc>);

impl Grid {
    /// Applies `f` to the four rows an observation counts in.
    fn add(&mut self, agent: &str, day: &str, mut f: impl FnMut(&mut Acc)) {
        let a = Some(agent.to_string());
        let d = Some(day.to_string());
        for key in [(a.clone(), d.clone()), (a, None), (None, d), (None, None)] {
            f(self.0.entry(key).or_default());
        }
    }
}

/// What the stored `analysis` event of a customer turn says.
#[derive(Debug, Clone)]
struct Understood {
    intent: String,
    score: f64,
    emotion: String,
    urgent: bool,
}

fn understood(payload: &Value) -> Understood {
    let top = payload["intents"].as_array().and_then(|a| a.first());
    Understood {
        intent: top
            .and_then(|t| t["id"].as_str())
            .unwrap_or("other")
            .to_string(),
        score: top.and_then(|t| t["score"].as_f64()).unwrap_or(0.0),
        emotion: payload["emotion"]["label"]
            .as_str()
            .unwrap_or("neutral")
            .to_string(),
        urgent: payload["urgent"].as_bool().unwrap_or(false),
    }
}

/// Block/warn categories of a stored `guard` event (each category once).
fn serious_categories(payload: &Value) -> Vec<String> {
    let mut cats: Vec<String> = payload["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter(|h| h["severity"].as_str().is_some_and(|s| s != "hint"))
                .filter_map(|h| h["category"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    cats.sort();
    cats.dedup();
    cats
}

fn sorted_counts(m: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

struct TurnRow {
    conversation: String,
    id: String,
    role: String,
    text: String,
    at: i64,
    /// The stored `turns.agent` (empty treated as absent).
    agent: Option<String>,
}

impl Store {
    /// The QA figures of one shop and period (see the field docs for every definition).
    pub fn analytics(&self, q: &AnalyticsQuery) -> Result<Analytics, Error> {
        let conn = self.conn();
        let tz = q.tz_offset_min;
        let in_range = |at: i64| at >= q.from_ms && at < q.to_ms;

        // Conversations of the shop with activity in the period, and who worked on them.
        let mut agents: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
        for sql in [
            "SELECT f.conversation, f.agent FROM feedback f JOIN conversations c ON c.id = f.conversation
             WHERE c.shop = ?1 AND f.agent IS NOT NULL AND f.agent <> ''",
            "SELECT d.conversation, d.agent FROM drafts d JOIN conversations c ON c.id = d.conversation
             WHERE c.shop = ?1 AND d.agent IS NOT NULL AND d.agent <> ''",
        ] {
            let rows = conn.query(sql, params![&q.shop], |r| Ok((r.text(0)?, r.text(1)?)))?;
            for (conv, agent) in rows {
                *agents.entry(conv).or_default().entry(agent).or_default() += 1;
            }
        }
        let owner = |conv: &str| -> String {
            agents
                .get(conv)
                .and_then(|m| {
                    m.iter()
                        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                        .map(|(a, _)| a.clone())
                })
                .unwrap_or_default()
        };

        // Turns of every conversation with a turn in the period (earlier turns are needed to
        // know whether a customer was already waiting), in order.
        let turns: Vec<TurnRow> = {
            conn.query(
                "SELECT t.conversation, t.id, t.role, t.text, t.at, t.agent FROM turns t
                 JOIN conversations c ON c.id = t.conversation
                 WHERE c.shop = ?1 AND t.conversation IN
                   (SELECT conversation FROM turns WHERE at >= ?2 AND at < ?3)
                 ORDER BY t.conversation, t.seq",
                params![&q.shop, q.from_ms, q.to_ms],
                |r| {
                    Ok(TurnRow {
                        conversation: r.text(0)?,
                        id: r.text(1)?,
                        role: r.text(2)?,
                        text: r.text(3)?,
                        at: r.i64(4)?,
                        agent: r.opt_text(5)?.filter(|a| !a.is_empty()),
                    })
                },
            )?
        };
        // The analysis / guard event of each of those turns.
        let mut payloads: HashMap<(String, String), Value> = HashMap::new();
        {
            let rows = conn.query(
                "SELECT e.conversation, e.turn, e.payload FROM events e
                 JOIN conversations c ON c.id = e.conversation
                 WHERE c.shop = ?1 AND e.type IN ('analysis', 'guard') AND e.turn IS NOT NULL
                   AND e.conversation IN (SELECT conversation FROM turns WHERE at >= ?2 AND at < ?3)",
                params![&q.shop, q.from_ms, q.to_ms],
                |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)),
            )?;
            for (conv, turn, payload) in rows {
                if let Ok(v) = serde_json::from_str::<Value>(&payload) {
                    payloads.insert((conv, turn), v);
                }
            }
        }

        let mut grid = Grid::default();
        let mut intents: HashMap<String, u64> = HashMap::new();
        let mut emotions: HashMap<String, u64> = HashMap::new();
        let mut customer_turns = 0u64;
        let mut low: Vec<TurnRef> = Vec::new();
        let mut urgent: Vec<TurnRef> = Vec::new();
        let mut i = 0;
        while i < turns.len() {
            let conv = turns[i].conversation.clone();
            let conv_owner = owner(&conv);
            let mut waiting: Option<i64> = None;
            let mut opened_by_customer: Option<i64> = None;
            let mut answered_once = false;
            // Urgent turns of this conversation still waiting for an agent turn.
            let mut open_urgent: Vec<usize> = Vec::new();
            let conv_start = i;
            while i < turns.len() && turns[i].conversation == conv {
                let t = &turns[i];
                let at_index = i;
                i += 1;
                let payload = payloads.get(&(conv.clone(), t.id.clone()));
                if t.role == "agent" {
                    for u in open_urgent.drain(..) {
                        let r: &mut TurnRef = &mut urgent[u];
                        r.handling_ms = Some(t.at - r.at);
                    }
                    if !in_range(t.at) {
                        waiting = None;
                        answered_once = true;
                        continue;
                    }
                    let day = local_day(t.at, tz);
                    let cats = payload.map(serious_categories).unwrap_or_default();
                    let first = match (answered_once, opened_by_customer) {
                        (false, Some(start)) => Some(t.at - start),
                        _ => None,
                    };
                    let response = waiting.map(|since| t.at - since);
                    let agent = t.agent.as_deref().unwrap_or(&conv_owner);
                    grid.add(agent, &day, |a| {
                        a.turns += 1;
                        a.conversations.insert(conv.clone());
                        if cats.is_empty() {
                            a.compliant += 1;
                        }
                        for c in &cats {
                            a.hits.entry(c.clone()).or_default().sent += 1;
                        }
                        a.first.extend(first);
                        a.responses.extend(response);
                    });
                    waiting = None;
                    answered_once = true;
                    continue;
                }
                if !answered_once && opened_by_customer.is_none() {
                    opened_by_customer = Some(t.at);
                }
                if waiting.is_none() {
                    waiting = Some(t.at);
                }
                if !in_range(t.at) {
                    continue;
                }
                let u = payload.map(understood).unwrap_or(Understood {
                    intent: "other".into(),
                    score: 0.0,
                    emotion: "neutral".into(),
                    urgent: false,
                });
                customer_turns += 1;
                *intents.entry(u.intent.clone()).or_default() += 1;
                *emotions.entry(u.emotion.clone()).or_default() += 1;
                let r = TurnRef {
                    conversation: crate::client_id(&conv).to_string(),
                    turn: t.id.clone(),
                    at: t.at,
                    text: t.text.clone(),
                    intent: u.intent.clone(),
                    score: u.score,
                    emotion: u.emotion.clone(),
                    handling_ms: None,
                    context: Vec::new(),
                };
                if u.intent == "other" || u.score < q.low_confidence {
                    let from = at_index.saturating_sub(2).max(conv_start);
                    let context = turns[from..at_index]
                        .iter()
                        .map(|c| {
                            let who = if c.role == "agent" {
                                "客服"
                            } else {
                                "顾客"
                            };
                            format!("{who}：{}", c.text)
                        })
                        .collect();
                    low.push(TurnRef {
                        context,
                        ..r.clone()
                    });
                }
                if u.urgent {
                    open_urgent.push(urgent.len());
                    urgent.push(r);
                }
            }
        }

        // SLA events, flagged drafts.
        {
            let rows = conn.query(
                "SELECT s.conversation, s.level, s.at FROM sla_events s
                 JOIN conversations c ON c.id = s.conversation
                 WHERE c.shop = ?1 AND s.at >= ?2 AND s.at < ?3",
                params![&q.shop, q.from_ms, q.to_ms],
                |r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?)),
            )?;
            for (conv, level, at) in rows {
                let day = local_day(at, tz);
                grid.add(&owner(&conv), &day, |a| match level.as_str() {
                    "breach" => a.breaches += 1,
                    "warn" => a.warnings += 1,
                    _ => {}
                });
            }
        }
        {
            let rows = conn.query(
                "SELECT d.conversation, d.agent, d.categories, d.rewritten, d.at FROM drafts d
                 JOIN conversations c ON c.id = d.conversation
                 WHERE c.shop = ?1 AND d.at >= ?2 AND d.at < ?3",
                params![&q.shop, q.from_ms, q.to_ms],
                |r| {
                    Ok((
                        r.text(0)?,
                        r.opt_text(1)?,
                        r.text(2)?,
                        r.opt_i64(3)?,
                        r.i64(4)?,
                    ))
                },
            )?;
            // One reply is one draft: resolved drafts carry 0/1 on the latest version only
            // (2 = superseded); of the unresolved ones, only each conversation's latest counts.
            let mut counted = Vec::new();
            let mut pending: HashMap<String, (Option<String>, String, Option<i64>, i64)> =
                HashMap::new();
            for (conv, agent, cats, rewritten, at) in rows {
                match rewritten {
                    Some(crate::store::DRAFT_SUPERSEDED) => {}
                    Some(_) => counted.push((conv, agent, cats, rewritten, at)),
                    None => {
                        let e =
                            pending
                                .entry(conv)
                                .or_insert((None, String::new(), None, i64::MIN));
                        if at >= e.3 {
                            *e = (agent, cats, None, at);
                        }
                    }
                }
            }
            counted.extend(
                pending
                    .into_iter()
                    .map(|(conv, (agent, cats, rewritten, at))| (conv, agent, cats, rewritten, at)),
            );
            for (conv, agent, cats, rewritten, at) in counted {
                let agent = agent
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| owner(&conv));
                let mut cats: Vec<&str> = cats.split(' ').filter(|c| !c.is_empty()).collect();
                cats.sort_unstable();
                cats.dedup();
                let day = local_day(at, tz);
                grid.add(&agent, &day, |a| {
                    for c in &cats {
                        let h = a.hits.entry((*c).to_string()).or_default();
                        h.drafted += 1;
                        if rewritten == Some(1) {
                            h.rewritten += 1;
                        }
                    }
                });
            }
        }

        // Scripts: shown (suggestion events) and feedback.
        let mut scripts: HashMap<String, ScriptUse> = HashMap::new();
        {
            let rows = conn.query(
                "SELECT e.payload FROM events e JOIN conversations c ON c.id = e.conversation
                 WHERE c.shop = ?1 AND e.type = 'suggestions' AND e.created_at >= ?2 AND e.created_at < ?3",
                params![&q.shop, q.from_ms, q.to_ms],
                |r| r.text(0),
            )?;
            for row in rows {
                let Ok(v) = serde_json::from_str::<Value>(&row) else {
                    continue;
                };
                for item in v["items"].as_array().into_iter().flatten() {
                    if let Some(s) = item["script"].as_str() {
                        scripts.entry(s.to_string()).or_default().shown += 1;
                    }
                }
            }
            let rows = conn.query(
                "SELECT f.script, f.action, count(*) FROM feedback f
                 JOIN conversations c ON c.id = f.conversation
                 WHERE c.shop = ?1 AND f.at >= ?2 AND f.at < ?3 GROUP BY f.script, f.action",
                params![&q.shop, q.from_ms, q.to_ms],
                |r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?)),
            )?;
            for (script, action, n) in rows {
                let s = scripts.entry(script).or_default();
                let n = u64::try_from(n).unwrap_or(0);
                match action.as_str() {
                    "used" => s.used += n,
                    "edited" => s.edited += n,
                    _ => s.dismissed += n,
                }
            }
        }
        let mut scripts: Vec<ScriptUse> = scripts
            .into_iter()
            .map(|(id, mut s)| {
                s.script = id;
                s.used_rate = rate(s.used, s.shown);
                s.edited_rate = rate(s.edited, s.shown);
                s.dismissed_rate = rate(s.dismissed, s.shown);
                s
            })
            .collect();
        scripts.sort_by(|a, b| b.shown.cmp(&a.shown).then_with(|| a.script.cmp(&b.script)));

        // Phrasebook versions behind the period's events.
        let books: Vec<BookUse> = {
            conn.query(
                "SELECT e.book, count(*), min(e.created_at), max(e.created_at) FROM events e
                 JOIN conversations c ON c.id = e.conversation
                 WHERE c.shop = ?1 AND e.created_at >= ?2 AND e.created_at < ?3
                 GROUP BY e.book ORDER BY min(e.created_at)",
                params![&q.shop, q.from_ms, q.to_ms],
                |r| {
                    Ok(BookUse {
                        hash: r.text(0)?,
                        events: r.u64(1)?,
                        first_at: r.i64(2)?,
                        last_at: r.i64(3)?,
                    })
                },
            )?
        };

        let mut rows: Vec<AgentDay> = grid
            .0
            .into_iter()
            .map(|((agent, day), acc)| acc.finish(agent, day))
            .collect();
        rows.sort_by(|a, b| a.agent.cmp(&b.agent).then_with(|| a.day.cmp(&b.day)));
        let mut a = Analytics {
            shop: q.shop.clone(),
            from_ms: q.from_ms,
            to_ms: q.to_ms,
            ..Analytics::default()
        };
        for r in rows {
            match (&r.agent, &r.day) {
                (None, None) => a.total = r,
                (Some(_), None) => a.by_agent.push(r),
                (None, Some(_)) => a.by_day.push(r),
                (Some(_), Some(_)) => a.by_agent_day.push(r),
            }
        }
        a.scripts = scripts;
        a.intents = sorted_counts(intents);
        a.emotions = sorted_counts(emotions);
        a.customer_turns = customer_turns;
        a.low_confidence_count = low.len() as u64;
        low.sort_by_key(|t| std::cmp::Reverse(t.at));
        low.truncate(q.list_limit);
        a.low_confidence = low;
        let mut handled: Vec<i64> = urgent.iter().filter_map(|u| u.handling_ms).collect();
        a.urgent = Urgent {
            count: urgent.len() as u64,
            answered: handled.len() as u64,
            max_handling_ms: handled.iter().copied().max(),
            handling_median_ms: median(&mut handled),
            turns: {
                urgent.sort_by_key(|t| std::cmp::Reverse(t.at));
                urgent.truncate(q.list_limit);
                urgent
            },
        };
        a.books = books;
        Ok(a)
    }

    /// Stored turns for export and replay: optionally one shop's, with `at >= since_ms`, in
    /// conversation order (conversations by their first turn, turns by seq); at most `limit`
    /// turns, the most recent conversations first cut when there are more.
    pub fn transcript(
        &self,
        shop: Option<&str>,
        since_ms: Option<i64>,
        limit: Option<usize>,
    ) -> Result<Vec<TranscriptTurn>, Error> {
        let conn = self.conn();
        let mut out: Vec<TranscriptTurn> = conn.query(
            "SELECT t.conversation, t.id, t.seq, t.role, t.text, t.at, c.shop, t.book, t.agent
             FROM turns t JOIN conversations c ON c.id = t.conversation
             WHERE (CAST(?1 AS TEXT) IS NULL OR c.shop = ?1) AND t.at >= ?2
             ORDER BY c.created_at, t.conversation, t.seq",
            params![shop, since_ms.unwrap_or(i64::MIN)],
            |r| {
                Ok(TranscriptTurn {
                    conversation: r.text(0)?,
                    id: r.text(1)?,
                    seq: r.u64(2)?,
                    role: r.text(3)?,
                    text: r.text(4)?,
                    at: r.i64(5)?,
                    shop: r.text(6)?,
                    book: r.text(7)?,
                    agent: r.opt_text(8)?,
                })
            },
        )?;
        if let Some(limit) = limit
            && out.len() > limit
        {
            // Keep the newest turns, starting at a conversation boundary.
            let mut cut = out.len() - limit;
            while cut > 0
                && cut < out.len()
                && (&out[cut].shop, &out[cut].conversation)
                    == (&out[cut - 1].shop, &out[cut - 1].conversation)
            {
                cut += 1;
            }
            out.drain(..cut.min(out.len()));
        }
        // Stored keys carry the shop; the transcript names conversations as clients do.
        for t in &mut out {
            t.conversation = crate::client_id(&t.conversation).to_string();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_in_shop_time() {
        let ms = day_start_ms("2024-11-22", 480).expect("date");
        // 2024-11-22T00:00+08:00 = 2024-11-21T16:00Z
        assert_eq!(ms, 1_732_204_800_000);
        assert_eq!(local_day(ms, 480), "2024-11-22");
        assert_eq!(local_day(ms - 1, 480), "2024-11-21");
        assert_eq!(local_day(0, 0), "1970-01-01");
        assert_eq!(
            local_day(day_start_ms("2000-02-29", 0).expect("leap"), 0),
            "2000-02-29"
        );
        assert!(day_start_ms("2024-13-01", 480).is_none());
        assert!(day_start_ms("yesterday", 480).is_none());
    }

    #[test]
    fn median_of_even_counts_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 4]), Some(4));
        assert_eq!(median(&mut [1, 4, 9, 2]), Some(3));
    }
}
