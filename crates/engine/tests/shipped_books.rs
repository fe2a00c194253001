//! Every book shipped in `phrasebooks/` loads, compiles and lints clean: no script, rewrite or
//! FAQ answer trips a block/warn rule, every slot and intent is known.

use std::path::Path;

use huashu_engine::{Engine, lint};

#[test]
fn every_shipped_book_lints_clean_and_compiles() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../phrasebooks"));
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(root).expect("phrasebooks/") {
        let dir = entry.expect("dir entry").path();
        if !dir.join("book.toml").is_file() {
            continue;
        }
        let book = huashu_phrasebook::load_dir(&dir)
            .unwrap_or_else(|e| panic!("{} does not load: {e}", dir.display()));
        let problems = lint(&book);
        assert!(
            problems.is_empty(),
            "{}: {} problem(s):\n{}",
            dir.display(),
            problems.len(),
            problems
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            !book.rules.is_empty(),
            "{} ships no forbidden rules",
            dir.display()
        );
        assert!(
            !book.scripts.is_empty(),
            "{} ships no scripts",
            dir.display()
        );
        Engine::load(&dir).unwrap_or_else(|e| panic!("{} does not compile: {e}", dir.display()));
        seen.push(book.meta.name.clone());
    }
    seen.sort();
    assert_eq!(seen, ["default", "livestream"]);
}
