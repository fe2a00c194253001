//! Where a book's training corpus comes from on disk: its own `corpus/` folder, or the folder its
//! `[book] corpus` key names (how the livestream book shares the default book's corpus).

use std::fs;
use std::path::Path;

use huashu_phrasebook::{Error, load_dir};

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

#[test]
fn own_folder_shared_folder_and_missing_folder() {
    let root = tempfile::tempdir().expect("tempdir");
    let a = root.path().join("a");
    write(&a.join("book.toml"), "[book]\nname = \"a\"\n");
    write(&a.join("corpus/x.tsv"), "shipping\tneutral\t发货了吗\n");
    write(&a.join("corpus/notes.txt"), "not a corpus file\n");
    let book = load_dir(&a).expect("a loads");
    assert_eq!(book.corpus.len(), 1);
    assert_eq!(book.corpus[0].origin.to_string(), "corpus/x.tsv:1");

    let b = root.path().join("b");
    write(
        &b.join("book.toml"),
        "[book]\nname = \"b\"\ncorpus = \"../a/corpus\"\n",
    );
    let shared = load_dir(&b).expect("b loads");
    assert_eq!(
        shared.corpus,
        book.corpus
            .iter()
            .map(|l| {
                let mut l = l.clone();
                l.origin.file = "../a/corpus/x.tsv".into();
                l
            })
            .collect::<Vec<_>>()
    );

    // A corpus folder the book names must exist; a book without the key needs none.
    let c = root.path().join("c");
    write(
        &c.join("book.toml"),
        "[book]\nname = \"c\"\ncorpus = \"nowhere\"\n",
    );
    assert!(matches!(load_dir(&c), Err(Error::Io { .. })));
    let d = root.path().join("d");
    write(&d.join("book.toml"), "[book]\nname = \"d\"\n");
    assert!(load_dir(&d).expect("d loads").corpus.is_empty());
}

#[test]
fn corpus_problems_refuse_the_book_and_change_the_hash() {
    let root = tempfile::tempdir().expect("tempdir");
    let a = root.path().join("a");
    write(&a.join("book.toml"), "[book]\nname = \"a\"\n");
    write(&a.join("corpus/x.tsv"), "shipping\tneutral\t发货了吗\n");
    let before = load_dir(&a).expect("loads").meta.hash;
    write(&a.join("corpus/x.tsv"), "shipping\tneutral\t发货了没\n");
    assert_ne!(load_dir(&a).expect("loads").meta.hash, before);
    write(
        &a.join("corpus/x.tsv"),
        "shipping\tneutral\t发货了没\nshiping\tneutral\t到了吗\n",
    );
    match load_dir(&a) {
        Err(Error::Invalid(p)) => {
            assert_eq!(p.0.len(), 1, "{p}");
            assert!(
                p.to_string().starts_with("corpus/x.tsv:2: unknown intent"),
                "{p}"
            );
        }
        other => panic!("expected a corpus problem, got {other:?}"),
    }
}
