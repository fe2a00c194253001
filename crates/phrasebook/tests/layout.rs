//! The shipped books keep keyword lists one entry per line, so that adding, removing or
//! re-weighting one word is a one-line diff a reviewer can read.

use std::path::Path;

/// Lists of words, phrases and patterns (short metadata lists such as `tags` may stay inline).
const LIST_KEYS: &[&str] = &[
    "keywords",
    "patterns",
    "words",
    "phrases",
    "allow",
    "examples",
    "questions",
    "negators",
    "intensifiers",
    "diminishers",
    "rational",
    "emotional",
    "aliases",
];

/// 1-based lines of `text` on which a list of [`LIST_KEYS`] holds a second entry.
fn crowded_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut key = String::new();
    let mut line = 1;
    let mut chars = text.char_indices().peekable();
    // After a top-level comma of a list: waiting to see whether the line goes on.
    let mut after_comma = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                after_comma = false;
            }
            '#' => {
                while chars.peek().is_some_and(|&(_, c)| c != '\n') {
                    chars.next();
                }
            }
            '"' | '\'' => {
                if after_comma && LIST_KEYS.contains(&key.as_str()) {
                    out.push((line, key.clone()));
                    after_comma = false;
                }
                let mut escaped = false;
                for (_, d) in chars.by_ref() {
                    match d {
                        '\\' if c == '"' && !escaped => escaped = true,
                        d if d == c && !escaped => break,
                        '\n' => line += 1,
                        _ => escaped = false,
                    }
                }
            }
            '[' | '{' => {
                if depth == 0 {
                    // The key of this value: the text before `=` on the current line.
                    let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
                    key = text[start..i]
                        .split('=')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_string();
                }
                depth += 1;
            }
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                after_comma = false;
            }
            ',' if depth == 1 => after_comma = true,
            _ => {}
        }
    }
    out
}

#[test]
fn shipped_keyword_lists_hold_one_entry_per_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks");
    let mut problems = Vec::new();
    let mut files = 0;
    for book in std::fs::read_dir(&root).expect("phrasebooks/") {
        let book = book.expect("entry").path();
        for file in std::fs::read_dir(&book).expect("book dir") {
            let file = file.expect("entry").path();
            if file.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&file).expect("readable");
            for (line, key) in crowded_lines(&text) {
                problems.push(format!(
                    "{}:{line}: `{key}` holds several entries on one line: write one per line",
                    file.display()
                ));
            }
        }
    }
    assert!(files >= 10, "found only {files} book files under {root:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn crowded_lists_are_found() {
    const CASES: &[(&str, &[usize])] = &[
        ("phrases = [\"a\"]\n", &[]),
        ("phrases = [\"a\", \"b\"]\n", &[1]),
        (
            "keywords = {\n  \"a\" = 1.0,\n  \"b\" = 0.5, \"c\" = 1,\n}\n",
            &[3],
        ),
        ("words = [\n  # a, b\n  \"a,b\",\n  'x' ,\n]\n", &[]),
        ("tags = [\"a\", \"b\"]\n", &[]),
        ("patterns = [\n  '(a|b){1,2}',\n  \"c\", \"d\",\n]\n", &[3]),
    ];
    for (text, want) in CASES {
        let got: Vec<usize> = crowded_lines(text).into_iter().map(|(l, _)| l).collect();
        assert_eq!(&got, want, "{text:?}");
    }
}
