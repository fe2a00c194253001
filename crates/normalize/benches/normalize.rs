//! Throughput of the normaliser with every option on (the guard's setting): MB/s on a long mixed
//! Chinese chat log and time per 40-char agent draft. Reproduce with
//! `cargo bench -p huashu-normalize --bench normalize -- --quick`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huashu_normalize::{NormText, Normalizer, Options};
use std::hint::black_box;

/// Chat lines mixing simplified and traditional text, full-width punctuation, digits, Latin
/// letters, emoji and repeats, roughly as customers and agents write them.
const LINES: &[&str] = &[
    "亲，您好！请问有什么可以帮您的吗？😊",
    "我的訂單號是 1100233445566，到現在還沒發貨！！！",
    "你们这个快递怎么回事啊，催催催了好几遍了😡😡😡",
    "妳們的服務態度真的很差，我要投訴，我要退貨退款",
    "麻烦您稍等，我帮您催一下快递，预计明天送达哦～",
    "ＶＩＰ客户专享：满３００减５０，①②③号仓库发货",
    "这个尺码偏大还是偏小？我平时穿ＸＬ，身高175cm。",
    "說了多少遍了，質量有問題，換貨！不換就差評👎🏻",
    "好的呢，感谢您的耐心等待，祝您生活愉快❤️",
    "告诉您一个好消息：今天下单立减二十元【限时】",
];

fn text(min_bytes: usize) -> String {
    let mut s = String::new();
    while s.len() < min_bytes {
        for line in LINES {
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}

/// 40-char drafts cut from the same mix.
fn drafts() -> Vec<String> {
    let chars: Vec<char> = text(16 * 1024).chars().collect();
    chars.chunks_exact(40).map(|c| c.iter().collect()).collect()
}

fn bench(c: &mut Criterion) {
    let n = Normalizer::new();
    let mut out = NormText::default();

    let long = text(1 << 20);
    let mut g = c.benchmark_group("long_text");
    g.throughput(Throughput::Bytes(long.len() as u64));
    g.bench_function("all_options", |b| {
        b.iter(|| n.normalize_into(black_box(&long), &mut out));
    });
    let entity = Normalizer::with_options(Options {
        fold_chinese: false,
        skip_noise: false,
        collapse_repeats: false,
        ..Options::default()
    });
    g.bench_function("width_and_case_only", |b| {
        b.iter(|| entity.normalize_into(black_box(&long), &mut out));
    });
    g.finish();

    let drafts = drafts();
    let mut g = c.benchmark_group("draft_40_chars");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("all_options", |b| {
        b.iter(|| {
            i = (i + 1) % drafts.len();
            n.normalize_into(black_box(&drafts[i]), &mut out);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
