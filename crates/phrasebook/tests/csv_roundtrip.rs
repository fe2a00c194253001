//! CSV round-trip: import(export(book)) == book for the shipped books, the generated TOML loads
//! back to the same rules and scripts, and CSV problems name the row.

use std::path::Path;

use huashu_phrasebook::*;

fn strip_rules(mut v: Vec<ForbiddenRule>) -> Vec<ForbiddenRule> {
    v.iter_mut().for_each(|r| r.origin = Origin::default());
    v
}

fn strip_scripts(mut v: Vec<Script>) -> Vec<Script> {
    v.iter_mut().for_each(|s| s.origin = Origin::default());
    v
}

fn shipped() -> Vec<Phrasebook> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../phrasebooks"));
    ["default", "livestream"]
        .iter()
        .map(|name| load_dir(&root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

#[test]
fn shipped_books_round_trip_through_csv_and_toml() {
    for book in shipped() {
        let csv = rules_to_csv(&book.rules);
        assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
        let back = rules_from_csv("forbidden.csv", &csv).expect("rules import");
        assert_eq!(
            strip_rules(back),
            strip_rules(book.rules.clone()),
            "{}",
            book.meta.name
        );

        let csv = scripts_to_csv(&book.scripts);
        let back = scripts_from_csv("scripts.csv", &csv, &book.slots).expect("scripts import");
        assert_eq!(strip_scripts(back), strip_scripts(book.scripts.clone()));

        let book_toml = format!(
            "[book]\nname = \"x\"\n[slots]\n{}",
            book.slots
                .iter()
                .map(|(k, v)| format!("{k:?} = {v:?}\n"))
                .collect::<String>()
        );
        let reparsed = parse_str(&[
            ("book.toml", &book_toml),
            ("forbidden.toml", &rules_to_toml(&book.rules)),
            ("scripts.toml", &scripts_to_toml(&book.scripts)),
        ])
        .expect("generated TOML loads");
        assert_eq!(strip_rules(reparsed.rules), strip_rules(book.rules.clone()));
        assert_eq!(
            strip_scripts(reparsed.scripts),
            strip_scripts(book.scripts.clone())
        );
    }
}

#[test]
fn csv_problems_name_the_row() {
    let csv = "\u{feff}id,category,severity,phrases,patterns,allow,boundary,position,rewrite,note\n\
               a.one,provoke,block,你去告,,,false,any,抱歉,\n\
               a.two,nonsense,loud,\"x\ny\",,,maybe,any,抱歉,\n\
               a.one,provoke,block,告,,,,,抱歉,\n";
    let err = rules_from_csv("forbidden.csv", csv).expect_err("bad rows");
    let msgs: Vec<String> = err.0.iter().map(|p| p.to_string()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("forbidden.csv:3: [a.two] unknown category")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("forbidden.csv:3: [a.two] unknown severity")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("forbidden.csv:3: boundary")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            // Row 4 as Excel shows it (file line 5: a.two's phrases cell spans two lines).
            .any(|m| m.starts_with("forbidden.csv:4: [a.one] duplicate rule id")),
        "{msgs:?}"
    );
}

#[test]
fn scripts_csv_checks_slots() {
    let csv = "id,intent,stage,emotions,style,urgent,tags,priority,text\n\
               s.one,shipping,solve,,any,false,,0,{称呼}您好 {不存在}\n";
    let slots = [("称呼".to_string(), "亲".to_string())]
        .into_iter()
        .collect();
    let err = scripts_from_csv("scripts.csv", csv, &slots).expect_err("unknown slot");
    assert!(
        err.to_string()
            .contains("scripts.csv:2: [s.one] unknown slot {不存在}"),
        "{err}"
    );
}

#[test]
fn formula_injection_is_defused_on_export_and_the_round_trip_holds() {
    let book = shipped().remove(0);
    let mut rules = book.rules.clone();
    rules[0].rewrite = "=HYPERLINK(\"http://evil.example/\",\"您好\")".into();
    rules[0].note = "@cmd".into();
    rules[0].phrases.insert(0, "-2+3".into());
    let mut scripts = book.scripts.clone();
    scripts[0].text = "+1 您好".into();
    let rules_csv = rules_to_csv(&rules);
    let scripts_csv = scripts_to_csv(&scripts);
    for csv in [&rules_csv, &scripts_csv] {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        for rec in r.records() {
            for cell in rec.expect("CSV").iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "live formula cell {cell:?}"
                );
            }
        }
    }
    let back = rules_from_csv("forbidden.csv", &rules_csv).expect("rules import");
    assert_eq!(strip_rules(back), strip_rules(rules));
    let back = scripts_from_csv("scripts.csv", &scripts_csv, &book.slots).expect("scripts");
    assert_eq!(strip_scripts(back), strip_scripts(scripts));
}
