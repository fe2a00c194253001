//! Per-turn cost of ranking (figures in the README): the suggester sits on the customer-turn hot
//! path, budget ≈ 3 µs per turn for a book of ~150 scripts and ~40 FAQ entries.
//!
//! - `suggest/shipping_faq`: observe + suggest on a product/policy turn that runs FAQ retrieval.
//! - `suggest/complaint_angry`: observe + suggest on an angry complaint turn (no FAQ).
//! - `compile/synthetic`: `Suggester::new` for the synthetic book.
//!
//! Run: `cargo bench -p huashu-suggest --bench suggest`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use huashu_phrasebook::{
    EmotionLabel, FaqEntry, Intent, Phrasebook, Script, Stage, Style, Tag, TagKind,
};
use huashu_suggest::{ConversationState, Suggester};
use huashu_understand::{Emotion, Entity, IntentScore, Understanding};

const TAGS: &[&[Tag]] = &[
    &[Tag::Kind(TagKind::Empathy)],
    &[Tag::Kind(TagKind::Apology)],
    &[Tag::Kind(TagKind::Solution)],
    &[],
    &[Tag::Kind(TagKind::Solution), Tag::Kind(TagKind::Empathy)],
];
const WORDS: &[&str] = &[
    "包邮",
    "运费",
    "发货",
    "快递",
    "尺码",
    "材质",
    "优惠券",
    "退货",
    "退款",
    "换货",
    "发票",
    "地址",
    "颜色",
    "库存",
    "保修",
    "安装",
    "价格",
    "活动",
    "赠品",
    "预售",
];

/// 150 scripts over the twelve intents and 40 FAQ entries of four questions each.
fn book() -> Phrasebook {
    let mut b = Phrasebook::default();
    for (k, v) in [
        ("称呼", "亲"),
        ("店铺", "本店"),
        ("订单号", ""),
        ("物流单号", ""),
    ] {
        b.slots.insert(k.to_string(), v.to_string());
    }
    for i in 0..150usize {
        let slot = match i % 5 {
            0 => "订单号{订单号}",
            1 => "单号{物流单号}",
            _ => "{店铺}",
        };
        b.scripts.push(Script {
            id: format!("s{i:03}"),
            intent: Intent::ALL[i % Intent::ALL.len()],
            stage: Stage::ALL[(i / Intent::ALL.len()) % Stage::ALL.len()],
            emotions: if i % 7 == 0 {
                vec![EmotionLabel::Anger]
            } else {
                vec![]
            },
            style: match i % 9 {
                0 => Some(Style::Rational),
                1 => Some(Style::Emotional),
                _ => None,
            },
            urgent: i % 37 == 0,
            urgent_kind: None,
            safety: None,
            title: String::new(),
            tags: TAGS[i % TAGS.len()].to_vec(),
            text: format!("{{称呼}}，这是第{i}条话术，{slot}为您处理。"),
            priority: (i % 3) as i32,
            origin: Default::default(),
        });
    }
    for i in 0..40usize {
        let w = |k: usize| WORDS[(i + k) % WORDS.len()];
        b.faq.push(FaqEntry {
            id: format!("faq{i:02}"),
            title: String::new(),
            questions: vec![
                format!("{}怎么算", w(0)),
                format!("请问{}和{}有吗", w(1), w(2)),
                format!("{}多久能到", w(3)),
                format!("想问下{}的问题", w(0)),
            ],
            answer: format!("{{称呼}}，关于{}：第{i}条答案。", w(0)),
            intent: Some(Intent::ALL[1 + i % 5]),
            source: "政策".into(),
            categories: Vec::new(),
            product: None,
            origin: Default::default(),
        });
    }
    b
}

fn understanding(
    intents: &[(&'static str, f32)],
    emotion: &'static str,
    intensity: f32,
) -> Understanding {
    Understanding {
        intents: intents
            .iter()
            .map(|&(id, score)| IntentScore { id, score })
            .collect(),
        emotion: Emotion {
            label: emotion,
            intensity,
        },
        urgent: false,
        urgent_kind: None,
        style: Style::Rational,
        entities: vec![Entity {
            kind: "order_id",
            text: "2023112245678".into(),
            start: 0,
            end: 13,
            carrier: None,
        }],
        threat: false,
        repeat_ask: false,
        confident: true,
    }
}

fn benches(c: &mut Criterion) {
    let book = book();
    let s = Suggester::new(&book).expect("synthetic book compiles");
    let mut g = c.benchmark_group("suggest");
    g.measurement_time(Duration::from_secs(5));

    let u = understanding(&[("shipping", 0.8), ("price_promo", 0.4)], "neutral", 0.0);
    let text = "你好，请问运费怎么算，包邮吗？订单2023112245678";
    let mut st = ConversationState::new();
    g.bench_function("shipping_faq", |b| {
        b.iter(|| {
            st.observe_customer(black_box(&u), None);
            black_box(s.suggest(&u, black_box(text), &mut st))
        })
    });

    let u = understanding(&[("complaint", 0.9), ("quality_issue", 0.6)], "anger", 0.8);
    let text = "东西坏了你们还不管，我要投诉！";
    let mut st = ConversationState::new();
    g.bench_function("complaint_angry", |b| {
        b.iter(|| {
            st.observe_customer(black_box(&u), None);
            black_box(s.suggest(&u, black_box(text), &mut st))
        })
    });
    g.finish();

    c.bench_function("compile/synthetic", |b| {
        b.iter(|| Suggester::new(black_box(&book)).map(|s| s.script_count()))
    });
}

criterion_group!(all, benches);
criterion_main!(all);
