//! The whole per-turn pipeline on the shipped default book, as `huashu serve` runs it:
//!
//! - `customer_turn/default`: normalise → understand → update the conversation → rank and fill
//!   suggestions (the "customer turns analysed per second per core", goal ≥ 100k/s).
//!   Each conversation takes eight turns, then a fresh one starts, so the no-repeat ranking
//!   history stays realistic.
//! - `step/default`: the same customer turns through `Engine::step`, which adds the
//!   conversation's flags, the wait and the timers to arm to `customer_turn` (what the server
//!   calls per turn).
//! - `agent_turn/default`: guard + follow-up promise detection on a sent agent reply.
//! - `load/default`: `Engine::load` — read, validate, compile the guard, train the models.
//!
//! Run: `cargo bench -p huashu-engine --bench engine`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huashu_engine::{Chat, ConversationState, Engine, Speaker, Turn};

const CUSTOMER: &[&str] = include!("../../understand/benches/customer_turns.in");

const AGENT: &[&str] = &[
    "亲，非常抱歉让您久等了，我马上帮您查询物流",
    "你去告啊，我无所谓",
    "这个问题我需要核实一下，24小时内答复您",
    "您好，很高兴为您服务，请问有什么可以帮您？",
    "我都说了三遍了，七天无理由要保持商品完好",
    "亲，我帮您催一下快递，有消息第一时间告诉您",
    "是您自己操作不当造成的，我们不负责",
    "好的亲，已经为您备注了，稍后联系您",
];

fn book_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default")
}

fn bench(c: &mut Criterion) {
    let engine = match Engine::load(&book_dir()) {
        Ok(e) => e,
        Err(e) => panic!("default book: {e}"),
    };

    let mut g = c.benchmark_group("customer_turn");
    g.throughput(Throughput::Elements(CUSTOMER.len() as u64));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("default", |b| {
        b.iter(|| {
            for chunk in CUSTOMER.chunks(8) {
                let mut conv = ConversationState::default();
                for t in chunk {
                    black_box(engine.customer_turn(&mut conv, black_box(t), None));
                }
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("step");
    g.throughput(Throughput::Elements(CUSTOMER.len() as u64));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("default", |b| {
        b.iter(|| {
            for chunk in CUSTOMER.chunks(8) {
                let mut chat = Chat::default();
                for (i, t) in chunk.iter().enumerate() {
                    let turn = Turn {
                        speaker: Speaker::Customer,
                        id: "m",
                        text: black_box(t),
                        at_ms: i as i64,
                        received_ms: i as i64,
                        product: None,
                    };
                    black_box(engine.step(&mut chat, &turn));
                }
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("agent_turn");
    g.throughput(Throughput::Elements(AGENT.len() as u64));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("default", |b| {
        let mut conv = ConversationState::default();
        b.iter(|| {
            for t in AGENT {
                black_box(engine.agent_turn(&mut conv, black_box(t), None));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("default", |b| {
        b.iter(|| black_box(Engine::load(&book_dir()).map(|_| ())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
