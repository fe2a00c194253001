//! `[book] extends`: a book layered on a base book keeps only what differs. These tests pin the
//! semantics the README documents: same-named files replace the base's, other definitions
//! override by id, `remove` drops base ids (and names an unknown one), problems name the real
//! file, and a cycle is refused instead of recursing forever.

use std::fs;
use std::path::Path;

use huashu_phrasebook::{Error, load_dir};

fn rule(id: &str, phrase: &str) -> String {
    let category = id.split('.').next().unwrap_or("provoke");
    format!(
        "[[rule]]\nid = \"{id}\"\ncategory = \"{category}\"\nseverity = \"block\"\nphrases = [\"{phrase}\"]\nrewrite = \"非常抱歉，我来帮您处理。\"\n\n"
    )
}

fn write(dir: &Path, files: &[(&str, String)]) {
    fs::create_dir_all(dir).expect("mkdir");
    for (name, text) in files {
        fs::write(dir.join(name), text).expect("write");
    }
}

fn base(root: &Path) {
    write(
        &root.join("base"),
        &[
            ("book.toml", "[book]\nname = \"base\"\n".into()),
            (
                "forbidden.toml",
                rule("provoke.one", "你去告") + &rule("argue.two", "你有没有搞错"),
            ),
            ("extra.toml", rule("insult.three", "神经病")),
        ],
    );
}

#[test]
fn a_child_keeps_only_what_differs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    base(tmp.path());
    // (case, child book.toml extra lines, child files, Ok(rule id → first phrase) or Err(substring))
    type Want = Result<&'static [(&'static str, &'static str)], &'static str>;
    type Files = Vec<(&'static str, String)>;
    let cases: Vec<(&str, &str, Files, Want)> = vec![
        (
            "inherits everything",
            "",
            vec![],
            Ok(&[
                ("argue.two", "你有没有搞错"),
                ("insult.three", "神经病"),
                ("provoke.one", "你去告"),
            ]),
        ),
        (
            "override by id, add, remove",
            "remove = [\"argue.two\"]\n",
            vec![(
                "live.toml",
                rule("provoke.one", "爱上哪告") + &rule("provoke.four", "不买就走"),
            )],
            Ok(&[
                ("insult.three", "神经病"),
                ("provoke.four", "不买就走"),
                ("provoke.one", "爱上哪告"),
            ]),
        ),
        (
            "a same-named file replaces the base's",
            "",
            vec![("extra.toml", "# 不要基础库的 extra.toml\n".into())],
            Ok(&[("argue.two", "你有没有搞错"), ("provoke.one", "你去告")]),
        ),
        (
            "removing an unknown id is a problem",
            "remove = [\"nope.nope\"]\n",
            vec![],
            Err("[nope.nope] [book] remove"),
        ),
        (
            "a duplicate inside the child is still a duplicate",
            "",
            vec![
                ("a.toml", rule("provoke.five", "x")),
                ("b.toml", rule("provoke.five", "y")),
            ],
            Err("duplicate rule id"),
        ),
    ];
    for (i, (what, book_extra, files, want)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("child{i}"));
        let mut all = vec![(
            "book.toml",
            format!("[book]\nname = \"child\"\nextends = \"../base\"\n{book_extra}"),
        )];
        all.extend(files);
        write(&dir, &all);
        match (load_dir(&dir), want) {
            (Ok(book), Ok(rules)) => {
                let mut got: Vec<(String, String)> = book
                    .rules
                    .iter()
                    .map(|r| (r.id.clone(), r.phrases[0].clone()))
                    .collect();
                got.sort();
                let want: Vec<(String, String)> = rules
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect();
                assert_eq!(got, want, "{what}");
                assert_eq!(book.meta.name, "child", "{what}");
                // Base rules point at the base's file.
                if let Some(r) = book.rules.iter().find(|r| r.id == "insult.three") {
                    assert_eq!(r.origin.file, "../base/extra.toml", "{what}");
                }
            }
            (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{what}: {e}"),
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn an_extends_cycle_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("loop");
    write(
        &dir,
        &[
            (
                "book.toml",
                "[book]\nname = \"loop\"\nextends = \".\"\n".into(),
            ),
            ("forbidden.toml", rule("provoke.one", "你去告")),
        ],
    );
    match load_dir(&dir) {
        Err(Error::Syntax { message, .. }) => assert!(message.contains("cycle"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_shipped_livestream_book_repeats_no_default_rule() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks");
    let live = load_dir(&root.join("livestream")).expect("livestream loads");
    let default = load_dir(&root.join("default")).expect("default loads");
    // Its own rule file holds only rules default does not have.
    let own: Vec<_> = live
        .rules
        .iter()
        .filter(|r| !r.origin.file.starts_with("../default/"))
        .collect();
    assert!(!own.is_empty());
    for r in &own {
        assert!(
            default.rules.iter().all(|d| d.id != r.id),
            "{} repeats default",
            r.id
        );
    }
    // Default's rules are in force, except the one removed.
    for d in &default.rules {
        let inherited = live.rules.iter().any(|r| r.id == d.id);
        assert_eq!(inherited, d.id != "dismissive.wrong_number", "{}", d.id);
    }
}
