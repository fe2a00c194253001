//! `huashu csv export` / `import` on books that spread scripts and rules over several files: every
//! row goes back into the file it came from (the `file` column), a layered book's base rows stay
//! in the base, and what cannot be written back is refused with the file named.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the shipped books `default` and `livestream` (which extends `../default`).
fn copy_books(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("huashu-csv-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks");
    for book in ["default", "livestream"] {
        for sub in ["", "corpus"] {
            let src = from.join(book).join(sub);
            if !src.is_dir() {
                continue;
            }
            let dst = root.join(book).join(sub);
            std::fs::create_dir_all(&dst).expect("mkdir");
            for entry in std::fs::read_dir(&src).expect("read book") {
                let path = entry.expect("entry").path();
                if path.is_file() {
                    std::fs::copy(&path, dst.join(path.file_name().expect("name"))).expect("copy");
                }
            }
        }
    }
    root
}

fn huashu(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_huashu"))
        .args(args)
        .output()
        .expect("run huashu");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Script ids per file of a loaded book.
fn scripts_by_file(dir: &Path) -> Vec<(String, String)> {
    let book = huashu_phrasebook::load_dir(dir).expect("book loads");
    let mut v: Vec<(String, String)> = book
        .scripts
        .iter()
        .map(|s| (s.origin.file.clone(), s.id.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn scripts_spread_over_files_come_back_into_their_files() {
    let root = copy_books("spread");
    let book = root.join("default");
    let out = root.join("csv");
    let before = scripts_by_file(&book);
    assert!(
        before.iter().any(|(f, _)| f == "scripts_order.toml")
            && before.iter().any(|(f, _)| f == "safety.toml"),
        "the default book keeps scripts in several files"
    );
    let (code, msg) = huashu(&["csv", "export", s(&book), "--out", s(&out)]);
    assert_eq!(code, 0, "{msg}");

    // Edit one script of scripts_order.toml in the CSV: its text changes in that file only.
    let csv = std::fs::read_to_string(out.join("scripts.csv")).expect("scripts.csv");
    let loaded = huashu_phrasebook::load_dir(&book).expect("loads");
    let script = loaded
        .scripts
        .iter()
        .find(|x| {
            x.origin.file == "scripts_order.toml"
                && x.text.contains("{称呼}")
                && csv.matches(x.text.as_str()).count() == 1
        })
        .expect("a scripts_order.toml script with a unique text");
    let (id, old) = (script.id.clone(), script.text.clone());
    let new = old.replacen("{称呼}", "{称呼}，", 1);
    std::fs::write(out.join("scripts.csv"), csv.replacen(&old, &new, 1)).expect("write");

    let (code, msg) = huashu(&[
        "csv",
        "import",
        s(&book),
        "--scripts",
        s(&out.join("scripts.csv")),
        "--rules",
        s(&out.join("forbidden.csv")),
    ]);
    assert_eq!(code, 0, "{msg}");
    assert_eq!(
        scripts_by_file(&book),
        before,
        "every script stays in its file"
    );
    let edited = huashu_phrasebook::load_dir(&book)
        .expect("loads")
        .scripts
        .into_iter()
        .find(|x| x.id == id)
        .map(|x| (x.origin.file, x.text))
        .expect("the edited script");
    assert_eq!(edited, ("scripts_order.toml".to_string(), new));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_layered_book_keeps_base_rows_in_the_base_and_refuses_changing_them() {
    let root = copy_books("layered");
    let live = root.join("livestream");
    let out = root.join("csv");
    let (code, msg) = huashu(&["csv", "export", s(&live), "--out", s(&out)]);
    assert_eq!(code, 0, "{msg}");
    let base_before = std::fs::read_to_string(root.join("default/forbidden.toml")).expect("base");

    // Unchanged: imports, and the base file is not touched.
    let rules = out.join("forbidden.csv");
    let (code, msg) = huashu(&["csv", "import", s(&live), "--rules", s(&rules)]);
    assert_eq!(code, 0, "{msg}");
    let base_after = std::fs::read_to_string(root.join("default/forbidden.toml")).expect("base");
    assert_eq!(base_before, base_after);
    let book = huashu_phrasebook::load_dir(&live).expect("livestream loads");
    assert!(
        book.rules
            .iter()
            .any(|r| r.origin.file == "forbidden_live.toml")
    );
    assert!(
        book.rules
            .iter()
            .any(|r| r.origin.file == "../default/forbidden.toml")
    );

    // A changed base row is refused, naming the base file and the way out.
    let csv = std::fs::read_to_string(&rules).expect("csv");
    let base_rule = book
        .rules
        .iter()
        .find(|r| {
            r.origin.file == "../default/forbidden.toml"
                && csv.matches(r.rewrite.as_str()).count() == 1
        })
        .expect("a base rule with a unique rewrite");
    let changed = format!("{}请您放心。", base_rule.rewrite);
    std::fs::write(&rules, csv.replacen(&base_rule.rewrite, &changed, 1)).expect("write");
    let (code, msg) = huashu(&["csv", "import", s(&live), "--rules", s(&rules)]);
    assert_ne!(code, 0, "{msg}");
    assert!(
        msg.contains("comes from the base book (../default/forbidden.toml)"),
        "{msg}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_file_mixing_sections_is_refused_by_name() {
    let root = copy_books("mixed");
    let book = root.join("default");
    let out = root.join("csv");
    let (code, msg) = huashu(&["csv", "export", s(&book), "--out", s(&out)]);
    assert_eq!(code, 0, "{msg}");
    // A [[rule]] appended to the FAQ file: rewriting that file would drop the FAQ.
    let faq = book.join("faq.toml");
    let text = std::fs::read_to_string(&faq).expect("faq");
    std::fs::write(
        &faq,
        format!("{text}\n[[rule]]\nid = \"x.extra\"\ncategory = \"dismissive\"\nseverity = \"hint\"\nphrases = [\"随便\"]\nrewrite = \"好的，我来帮您处理。\"\n"),
    )
    .expect("write");
    let (code, msg) = huashu(&[
        "csv",
        "import",
        s(&book),
        "--rules",
        s(&out.join("forbidden.csv")),
    ]);
    assert_ne!(code, 0, "{msg}");
    assert!(
        msg.contains("faq.toml holds [[rule]] tables and other sections"),
        "{msg}"
    );
    let forbidden = std::fs::read_to_string(book.join("forbidden.toml")).expect("forbidden");
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default/forbidden.toml");
    assert_eq!(
        forbidden,
        std::fs::read_to_string(shipped).expect("shipped"),
        "nothing written"
    );
    let _ = std::fs::remove_dir_all(&root);
}
