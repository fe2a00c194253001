//! `huashu csv export|import`: a book's forbidden rules and scripts as Excel-friendly CSV.
//!
//! Import validates every row (problems name `file:row`), lints the book as it would be with the
//! imported rows, and only then rewrites the book files. Every row carries the book file it came
//! from (the `file` column export writes; empty: `forbidden.toml` / `scripts.toml`), so a book
//! that spreads its rules or scripts over several files gets each row back into its own file, and
//! a file whose rows were all deleted is emptied. Import refuses, naming the file, when a file it
//! would rewrite also holds other sections (rewriting it would lose them), and a row of a base
//! book (`extends`, `../default/forbidden.toml`) that was changed: change it in the base, or give
//! the row a file of this book to override it by id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use huashu_phrasebook::{
    ForbiddenRule, Origin, Placed, Problems, Script, placed_rules_from_csv,
    placed_scripts_from_csv, rules_to_csv, rules_to_toml, scripts_to_csv, scripts_to_toml,
};

#[derive(clap::Args, Debug)]
pub struct CsvArgs {
    #[command(subcommand)]
    command: CsvCommand,
}

#[derive(clap::Subcommand, Debug)]
enum CsvCommand {
    /// Write OUT/forbidden.csv and OUT/scripts.csv (UTF-8 with BOM).
    Export {
        /// Phrasebook directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Output directory (created if missing). Required: the files never land in whatever
        /// directory the command happened to run in.
        #[arg(long, value_name = "OUT")]
        out: PathBuf,
    },
    /// Validate CSV files and write them back into the book as TOML.
    Import {
        /// Phrasebook directory to update.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Forbidden rules CSV.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Scripts CSV.
        #[arg(long, value_name = "FILE")]
        scripts: Option<PathBuf>,
        /// Only validate; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Import the shop's catalogue from CSV (columns sku, title, category, aliases, attributes,
    /// questions, answer; one row per product or per product FAQ) as OUT in the book.
    ImportCatalog {
        /// Phrasebook directory to update.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Catalogue CSV.
        #[arg(long, value_name = "FILE")]
        catalog: PathBuf,
        /// File written in the book (replaced when it exists).
        #[arg(long, value_name = "NAME", default_value = "catalog_shop.toml")]
        out: String,
        /// Only validate; write nothing.
        #[arg(long)]
        check: bool,
    },
}

pub fn run(args: CsvArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        CsvCommand::Export { dir, out } => {
            let book = huashu_phrasebook::load_dir(&dir)?;
            std::fs::create_dir_all(&out)?;
            let rules = out.join("forbidden.csv");
            let scripts = out.join("scripts.csv");
            std::fs::write(&rules, rules_to_csv(&book.rules))?;
            std::fs::write(&scripts, scripts_to_csv(&book.scripts))?;
            eprintln!(
                "wrote {} ({} rules) and {} ({} scripts)",
                rules.display(),
                book.rules.len(),
                scripts.display(),
                book.scripts.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        CsvCommand::Import {
            dir,
            rules,
            scripts,
            check,
        } => import(&dir, rules.as_deref(), scripts.as_deref(), check),
        CsvCommand::ImportCatalog {
            dir,
            catalog,
            out,
            check,
        } => import_catalog(&dir, &catalog, &out, check),
    }
}

/// Renders the catalogue CSV to `dir/out`, after checking the whole book as it would be with it
/// (load + lint: unknown categories, duplicate skus, FAQ without question or answer, answers
/// tripping the guard).
fn import_catalog(dir: &Path, csv: &Path, out: &str, check: bool) -> anyhow::Result<ExitCode> {
    if !out.ends_with(".toml") || out.contains(['/', '\\']) {
        bail!("--out must be a file name ending in .toml");
    }
    let (name, text) = read(csv)?;
    let toml_text = match huashu_phrasebook::catalog_csv_to_toml(&name, &text) {
        Ok(t) => t,
        Err(p) => return Ok(report(&p)),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file.ends_with(".toml") && file != out && path.is_file() {
            files.push((file, std::fs::read_to_string(&path)?));
        }
    }
    files.push((out.to_string(), toml_text.clone()));
    files.sort();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let book = match huashu_phrasebook::parse_str(&refs) {
        Ok(b) => b,
        Err(huashu_phrasebook::Error::Invalid(p)) => return Ok(report(&p)),
        Err(e) => bail!("{e}"),
    };
    let problems = huashu_engine::lint(&book);
    if !problems.is_empty() {
        return Ok(report(&Problems(problems)));
    }
    let faq = book.faq.iter().filter(|f| f.product.is_some()).count();
    if check {
        eprintln!(
            "ok: {} products, {faq} product FAQ entries (nothing written: --check)",
            book.products.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::write(dir.join(out), toml_text)?;
    eprintln!(
        "wrote {} ({} products in the book, {faq} product FAQ entries)",
        dir.join(out).display(),
        book.products.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn read(path: &Path) -> anyhow::Result<(String, String)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    Ok((name, text))
}

fn report(problems: &Problems) -> ExitCode {
    for p in &problems.0 {
        println!("{p}");
    }
    eprintln!("{} problem(s); nothing written", problems.0.len());
    ExitCode::from(1)
}

/// The `*.toml` files of `dir` that hold `[[section]]` tables, and whether each holds any other
/// section too (`[slots]`, `[[faq]]`, …).
fn files_with(dir: &Path, section: &str) -> anyhow::Result<Vec<(String, bool)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".toml") {
            let text = std::fs::read_to_string(&path)?;
            let headers: Vec<&str> = text
                .lines()
                .map(str::trim_start)
                .filter(|l| l.starts_with('['))
                .collect();
            if headers.iter().any(|l| l.starts_with(section)) {
                let mixed = headers.iter().any(|l| !l.starts_with(section));
                found.push((name, mixed));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn rule_key(r: &ForbiddenRule) -> (&str, &Origin) {
    (r.id.as_str(), &r.origin)
}

fn script_key(s: &Script) -> (&str, &Origin) {
    (s.id.as_str(), &s.origin)
}

/// The same definition wherever it was read from (a CSV row and a TOML table).
fn same_rule(a: &ForbiddenRule, b: &ForbiddenRule) -> bool {
    ForbiddenRule {
        origin: b.origin.clone(),
        ..a.clone()
    } == *b
}

fn same_script(a: &Script, b: &Script) -> bool {
    Script {
        origin: b.origin.clone(),
        ..a.clone()
    } == *b
}

/// Imported definitions by book file, in row order.
type ByFile<T> = BTreeMap<String, Vec<T>>;

/// Where imported definitions go. Rows of a base book (`../default/…`) must be unchanged: they
/// stay in the base and are returned apart, for the lint. A file name must be a plain `*.toml`
/// of the book, and a file rewritten must hold nothing but `section` tables. Files that hold
/// such tables now and get no row any more are emptied.
fn place<T>(
    dir: &Path,
    section: &str,
    default_file: &str,
    rows: Vec<Placed<T>>,
    key: fn(&T) -> (&str, &Origin),
    same: fn(&T, &T) -> bool,
    base: &[T],
) -> anyhow::Result<(Vec<T>, ByFile<T>)> {
    let mut kept = Vec::new();
    let mut files: ByFile<T> = BTreeMap::new();
    let mut problems = Vec::new();
    for p in rows {
        let file = p.file.unwrap_or_else(|| default_file.to_string());
        let (id, origin) = key(&p.item);
        if file.starts_with("../") {
            let same = base.iter().any(|b| {
                let (bid, bo) = key(b);
                bid == id && bo.file == file && same(&p.item, b)
            });
            if !same {
                problems.push(format!(
                    "{origin}: [{id}] comes from the base book ({file}) and was changed: change it there, or set its file to one of this book's to override it by id"
                ));
            }
            kept.push(p.item);
        } else if file.contains(['/', '\\']) || !file.ends_with(".toml") {
            problems.push(format!(
                "{origin}: [{id}] file {file:?} is not a *.toml file name of this book"
            ));
        } else {
            files.entry(file).or_default().push(p.item);
        }
    }
    let existing = files_with(dir, section)?;
    for (name, _) in &existing {
        files.entry(name.clone()).or_default();
    }
    for (name, mixed) in &existing {
        if *mixed {
            problems.push(format!(
                "{name} holds {section} tables and other sections: csv import rewrites whole files, so move the {section} tables into a file of their own first"
            ));
        }
    }
    for name in files.keys() {
        if !existing.iter().any(|(n, _)| n == name) && dir.join(name).exists() {
            problems.push(format!(
                "{name} exists and holds no {section} tables: give the rows another file"
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok((kept, files))
}

fn import(
    dir: &Path,
    rules: Option<&Path>,
    scripts: Option<&Path>,
    check: bool,
) -> anyhow::Result<ExitCode> {
    if rules.is_none() && scripts.is_none() {
        bail!("nothing to import: give --rules and/or --scripts");
    }
    let mut book = huashu_phrasebook::load_dir(dir)?;
    let mut rule_files = ByFile::new();
    let mut script_files = ByFile::new();
    if let Some(path) = rules {
        let (name, text) = read(path)?;
        let placed = match placed_rules_from_csv(&name, &text) {
            Ok(r) => r,
            Err(p) => return Ok(report(&p)),
        };
        let (base, files) = place(
            dir,
            "[[rule]]",
            "forbidden.toml",
            placed,
            rule_key,
            same_rule,
            &book.rules,
        )?;
        book.rules = base;
        book.rules.extend(files.values().flatten().cloned());
        rule_files = files;
    }
    if let Some(path) = scripts {
        let (name, text) = read(path)?;
        let placed = match placed_scripts_from_csv(&name, &text, &book.slots) {
            Ok(s) => s,
            Err(p) => return Ok(report(&p)),
        };
        let (base, files) = place(
            dir,
            "[[script]]",
            "scripts.toml",
            placed,
            script_key,
            same_script,
            &book.scripts,
        )?;
        book.scripts = base;
        book.scripts.extend(files.values().flatten().cloned());
        script_files = files;
    }
    let problems = huashu_engine::lint(&book);
    if !problems.is_empty() {
        return Ok(report(&Problems(problems)));
    }
    if check {
        eprintln!(
            "ok: {} rules, {} scripts (nothing written: --check)",
            book.rules.len(),
            book.scripts.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for (file, rules) in &rule_files {
        std::fs::write(dir.join(file), rules_to_toml(rules))?;
    }
    for (file, scripts) in &script_files {
        std::fs::write(dir.join(file), scripts_to_toml(scripts))?;
    }
    eprintln!(
        "imported {} rules, {} scripts into {}",
        book.rules.len(),
        book.scripts.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
