//! Guard throughput and compile time (figures in the README).
//!
//! - `drafts/default`: 40-char agent drafts per second with the shipped default book, all
//!   normalisation on (goal ≥ 500k/s per core).
//! - `long_text/50k/*`: MB/s over long text with a synthetic 50k-phrase book, through the whole
//!   pipeline (normalise + scan + filter + map back), for both automata (goal ≥ 100 MB/s).
//! - `compile/*`: building the default book's guard (≤ 50 ms) and the 50k book's (≤ 1 s).
//!
//! Run: `cargo bench -p huashu-guard --bench guard`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huashu_guard::{Guard, MatcherKind, Scratch};
use huashu_phrasebook::{ForbiddenRule, Origin, Position, Severity};

/// Deterministic xorshift so every run benches the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 3,500 common CJK chars are roughly U+4E00..U+5B00 in frequency-agnostic terms; a 3,000-char
/// window keeps phrase collisions realistic (many partial matches, few full ones).
fn cjk(rng: &mut Rng) -> char {
    char::from_u32(0x4E00 + rng.below(3_000) as u32).unwrap_or('的')
}

fn synthetic_rules(n: usize) -> Vec<ForbiddenRule> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut seen = std::collections::HashSet::new();
    let mut rules = Vec::with_capacity(n);
    while rules.len() < n {
        let len = 2 + rng.below(4) as usize;
        let phrase: String = (0..len).map(|_| cjk(&mut rng)).collect();
        if !seen.insert(phrase.clone()) {
            continue;
        }
        rules.push(ForbiddenRule {
            id: format!("synthetic.r{}", rules.len()),
            category: huashu_phrasebook::RuleCategory::Insult,
            severity: Severity::Warn,
            phrases: vec![phrase],
            patterns: vec![],
            allow: vec![],
            boundary: false,
            position: Position::Anywhere,
            rewrite: "您好".into(),
            note: String::new(),
            origin: Origin::default(),
        });
    }
    rules
}

fn long_text(bytes: usize) -> String {
    let mut rng = Rng(42);
    let mut s = String::with_capacity(bytes + 16);
    while s.len() < bytes {
        s.push(cjk(&mut rng));
        match rng.below(20) {
            0 => s.push('，'),
            1 => s.push(' '),
            2 => s.push('。'),
            _ => {}
        }
    }
    s
}

const DRAFTS: &[&str] = &[
    "亲，您好，您的包裹已经在派送途中了，预计明天就能送达，请您耐心等待一下哦",
    "非常抱歉给您带来不便，我这边马上帮您申请退款，款项会原路退回到您的账户",
    "不知道您方便提供一下订单号吗？我这边帮您查询一下具体的物流信息哈～",
    "你去告啊，爱上哪告上哪告，我们这边已经按规定处理过了，没什么可说的",
    "我帮您催一下快递，有消息第一时间通知您，您看这样可以吗？感谢您的理解",
    "我都说了三遍了，这个商品不支持七天无理由退货，您自己看一下详情页吧",
    "亲亲，这款滚筒洗衣机是我们店的爆款，现在下单还送安装服务和延保一年",
    "喂，在吗？您的订单地址需要修改吗？修改的话麻烦您提供一下新地址哦亲",
];

fn drafts_40() -> Vec<String> {
    DRAFTS
        .iter()
        .map(|d| d.chars().take(40).collect())
        .collect()
}

fn default_rules() -> Vec<ForbiddenRule> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    huashu_phrasebook::load_dir(&dir)
        .expect("phrasebooks/default loads")
        .rules
}

fn bench(c: &mut Criterion) {
    let default = default_rules();
    let guard = Guard::new(&default).expect("default book compiles");
    let drafts = drafts_40();

    let mut g = c.benchmark_group("drafts");
    g.throughput(Throughput::Elements(drafts.len() as u64));
    g.bench_function("default", |b| {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        b.iter(|| {
            for d in &drafts {
                out.clear();
                guard.check_with(black_box(d), &mut scratch, &mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();

    let big = synthetic_rules(50_000);
    let text = long_text(1 << 20);
    let mut g = c.benchmark_group("long_text/50k");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for kind in [MatcherKind::Daachorse, MatcherKind::AhoCorasick] {
        let guard = Guard::builder()
            .matcher(kind)
            .build(&big)
            .expect("50k book compiles");
        g.bench_function(guard.matcher_name(), |b| {
            let mut scratch = Scratch::default();
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                guard.check_with(black_box(&text), &mut scratch, &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    g.bench_function("default", |b| {
        b.iter(|| Guard::new(black_box(&default)).expect("compiles"))
    });
    g.bench_function("50k", |b| {
        b.iter(|| Guard::new(black_box(&big)).expect("compiles"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
