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

const TURNS: &[&str] = include!("customer_turns.in");

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
