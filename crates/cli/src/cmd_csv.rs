//! `huashu csv export|import`: a book's forbidden rules and scripts as Excel-friendly CSV.
//!
//! Import validates every row (problems name `file:row`), lints the book as it would be with the
//! imported rows, and only then rewrites `forbidden.toml` / `scripts.toml`. It refuses a book that
//! keeps rules or scripts in other files too, because those would silently stay behind.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use huashu_phrasebook::{
    Problems, rules_from_csv, rules_to_csv, rules_to_toml, scripts_from_csv, scripts_to_csv,
    scripts_to_toml,
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

/// Files of `dir` other than `keep` that hold `[[section]]` tables.
fn other_files_with(dir: &Path, section: &str, keep: &str) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".toml") && name != keep {
            let text = std::fs::read_to_string(&path)?;
            if text.lines().any(|l| l.trim_start().starts_with(section)) {
                found.push(name);
            }
        }
    }
    Ok(found)
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
    if let Some(path) = rules {
        let others = other_files_with(dir, "[[rule]]", "forbidden.toml")?;
        if !others.is_empty() {
            bail!(
                "{} also hold [[rule]] tables; move them into forbidden.toml first",
                others.join(", ")
            );
        }
        let (name, text) = read(path)?;
        match rules_from_csv(&name, &text) {
            Ok(r) => book.rules = r,
            Err(p) => return Ok(report(&p)),
        }
    }
    if let Some(path) = scripts {
        let others = other_files_with(dir, "[[script]]", "scripts.toml")?;
        if !others.is_empty() {
            bail!(
                "{} also hold [[script]] tables; move them into scripts.toml first",
                others.join(", ")
            );
        }
        let (name, text) = read(path)?;
        match scripts_from_csv(&name, &text, &book.slots) {
            Ok(s) => book.scripts = s,
            Err(p) => return Ok(report(&p)),
        }
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
    if rules.is_some() {
        std::fs::write(dir.join("forbidden.toml"), rules_to_toml(&book.rules))?;
    }
    if scripts.is_some() {
        std::fs::write(dir.join("scripts.toml"), scripts_to_toml(&book.scripts))?;
    }
    eprintln!(
        "imported {} rules, {} scripts into {}",
        book.rules.len(),
        book.scripts.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
