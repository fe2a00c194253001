//! `huashu csv import-catalog`: the real binary turns a catalogue CSV into a book file, checked
//! with the whole book first; a bad row names the CSV file and row and writes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_default_book(to: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    let dir = to.join("book");
    std::fs::create_dir_all(dir.join("corpus")).expect("mkdir");
    for sub in ["", "corpus"] {
        for entry in std::fs::read_dir(from.join(sub)).expect("read book") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let name = path.file_name().expect("name");
                std::fs::copy(&path, dir.join(sub).join(name)).expect("copy");
            }
        }
    }
    dir
}

fn import(book: &Path, csv: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_huashu"))
        .args(["csv", "import-catalog"])
        .arg(book)
        .arg("--catalog")
        .arg(csv)
        .args(extra)
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

#[test]
fn a_catalogue_csv_becomes_a_checked_book_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let book = copy_default_book(tmp.path());
    let csv = tmp.path().join("商品目录.csv");
    std::fs::write(
        &csv,
        "\u{feff}sku,title,category,aliases,attributes,questions,answer\n\
         tea-1,白瓷茶杯 4 只装,家居餐具,白瓷茶杯,材质=高白瓷,能放洗碗机吗|洗碗机能洗吗,亲，这款白瓷茶杯可以放洗碗机清洗。\n",
    )
    .expect("write csv");

    let (code, out) = import(&book, &csv, &["--check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !book.join("catalog_shop.toml").exists(),
        "--check wrote a file"
    );

    let (code, out) = import(&book, &csv, &[]);
    assert_eq!(code, 0, "{out}");
    let written = std::fs::read_to_string(book.join("catalog_shop.toml")).expect("written");
    assert!(written.contains("sku = \"tea-1\""), "{written}");
    let loaded = huashu_phrasebook_products(&book);
    assert!(loaded.contains(&"tea-1".to_string()), "{loaded:?}");

    // A bad row: named by file and row, nothing written.
    std::fs::write(
        &csv,
        "sku,title,category,aliases,attributes,questions,answer\ntea-2,茶壶,茶具,,,,\n",
    )
    .expect("write csv");
    let (code, out) = import(&book, &csv, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(":2: [tea-2] unknown product category \"茶具\""),
        "{out}"
    );
    let still = std::fs::read_to_string(book.join("catalog_shop.toml")).expect("kept");
    assert_eq!(still, written);

    // A product FAQ answer that trips the guard is refused by the lint.
    std::fs::write(
        &csv,
        "sku,title,category,aliases,attributes,questions,answer\ntea-3,茶壶,家居餐具,,,能洗吗,你问我我怎么知道\n",
    )
    .expect("write csv");
    let (code, out) = import(&book, &csv, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[tea-3.faq1] FAQ answer trips"), "{out}");
}

/// Skus of the book as `huashu lint` sees it (through `analyze` would need a server; the
/// written file is loaded here with the same loader the service uses).
fn huashu_phrasebook_products(book: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_huashu"))
        .arg("lint")
        .arg(book)
        .output()
        .expect("run lint");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(book.join("catalog_shop.toml")).expect("read");
    text.lines()
        .filter_map(|l| l.strip_prefix("sku = \""))
        .map(|s| s.trim_end_matches('"').to_string())
        .collect()
}
