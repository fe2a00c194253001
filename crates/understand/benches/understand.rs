//! Customer-turn analysis throughput and compile (+ training) time on the shipped default book.
//!
//! - `analyze/default`: turns per second over a mix of ~30-char customer turns (goal ≥ 100k/s
//!   per core for the whole pipeline, suggestions included, so this part should stay well under
//!   10 µs per turn).
//! - `new/default`: `Understander::new` — automaton, pattern set, and training both models.
//!
//! Run: `cargo bench -p huashu-understand --bench understand`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huashu_understand::Understander;

const TURNS: &[&str] = &[
    "亲，在吗？我的快递到哪了，三天都没动了",
    "快递三天没动了，再不处理我就投诉！！！",
    "身高165体重110斤穿什么码，M还是L",
    "订单号2023112245678，麻烦帮我改一下收货地址",
    "收到的杯子是碎的，质量太差了，我要退款😡",
    "妳們的貨怎麼還沒到？？？都一個禮拜了",
    "叫你们主管来，跟你说不清楚",
    "好的谢谢亲，辛苦了👍",
    "孩子误食了里面的小零件，怎么办，急！！",
    "有没有优惠券啊，买两件能便宜点吗",
    "快递单号SF1234567890123一直显示运输中",
    "我不生气，就是想问问什么时候发货",
    "这是我第三次问了，你们客服到底有没有人",
    "电话改成138 1234 5678，谢谢",
    "这个充电器会漏电吗？我家有小孩",
    "说了多少遍了，七天无理由退货为什么不给退",
];

fn book_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default")
}

fn bench(c: &mut Criterion) {
    let book = match huashu_phrasebook::load_dir(&book_dir()) {
        Ok(b) => b,
        Err(e) => panic!("default book: {e}"),
    };
    let u = match Understander::new(&book) {
        Ok(u) => u,
        Err(e) => panic!("default book: {e}"),
    };

    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Elements(TURNS.len() as u64));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("default", |b| {
        b.iter(|| {
            for t in TURNS {
                black_box(u.analyze(black_box(t)));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("new");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("default", |b| {
        b.iter(|| black_box(Understander::new(black_box(&book)).map(|u| u.stats())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
