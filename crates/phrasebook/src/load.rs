//! Reading a book directory: TOML → raw serde structs (with spans) → validated [`Phrasebook`].
//!
//! Everything is checked before anything is returned, so a broken book is never half-loaded.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::model::*;
use crate::{Error, Problem, Problems};

/// Loads every `*.toml` file of `dir` (sorted by name) as one book, with its training corpus:
/// every `*.tsv` of the folder named by `[book] corpus` (relative to `dir`), or of `dir/corpus`
/// when the key is absent and that folder exists.
///
/// `[book] extends = "../default"` layers the book on a base book (see [`EXTENDS_DEPTH`]): the
/// base's files are read first, named by their path from this book (`../default/forbidden.toml`,
/// so problems point at the right file); a file of this book with the same name as a base file
/// replaces it (`book.toml` always does); a definition (rule, script, FAQ, intent, emotion,
/// product) whose id the base already defines replaces the base's (override by id); `[book]
/// remove = ["id", …]` drops base definitions; the corpus is the base's unless this book names
/// its own. The hash covers every file read.
pub fn load_dir(dir: &Path) -> Result<Phrasebook, Error> {
    let (sources, base) = gather(dir, "", 0)?;
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    parse_layers(&refs, &base)
}

/// How many `extends` a chain may hold (a longer chain is almost surely a cycle).
pub const EXTENDS_DEPTH: usize = 4;

/// The files of the book in `dir` and of its bases, names prefixed with `prefix` (the path
/// from the top book), and the set of names that belong to a base.
#[allow(clippy::type_complexity)]
fn gather(
    dir: &Path,
    prefix: &str,
    depth: usize,
) -> Result<(Vec<(String, String)>, std::collections::HashSet<String>), Error> {
    let files = files_with_extension(dir, "toml")?;
    if files.is_empty() {
        return Err(Error::Io {
            path: dir.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no *.toml files"),
        });
    }
    let mut own = Vec::with_capacity(files.len());
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        own.push((name, read(path)?));
    }
    // `[book] corpus` / `extends` are read leniently first; syntax errors surface in the parse.
    let key = own
        .iter()
        .find_map(|(_, text)| toml::from_str::<CorpusKey>(text).ok().and_then(|k| k.book));
    let corpus_key = key.as_ref().and_then(|b| b.corpus.clone());
    let extends = key.as_ref().and_then(|b| b.extends.clone());
    let mut out = Vec::new();
    let mut base_names = std::collections::HashSet::new();
    if let Some(ext) = &extends {
        if depth + 1 >= EXTENDS_DEPTH {
            return Err(Error::Syntax {
                file: format!("{prefix}book.toml"),
                line: 0,
                message: format!(
                    "extends = {ext:?}: more than {EXTENDS_DEPTH} books in the chain (a cycle?)"
                ),
            });
        }
        let ext = ext.trim_end_matches('/');
        let base_prefix = format!("{prefix}{ext}/");
        let (base, _) = gather(&dir.join(ext), &base_prefix, depth + 1)?;
        for (name, text) in base {
            let local = name.strip_prefix(&base_prefix).unwrap_or(&name);
            let replaced = own.iter().any(|(n, _)| n == local);
            let base_corpus = local.ends_with(".tsv");
            if replaced || (base_corpus && corpus_key.is_some()) {
                continue;
            }
            base_names.insert(name.clone());
            out.push((name, text));
        }
    }
    let (folder, required) = match &corpus_key {
        Some(k) => (k.trim_end_matches('/').to_string(), true),
        None => ("corpus".to_string(), false),
    };
    for (name, text) in own {
        out.push((format!("{prefix}{name}"), text));
    }
    // A book that extends another reads the base's corpus (unless it names its own folder)
    // and its own `corpus/` too, where the QA page writes labelled examples.
    let corpus_dir = dir.join(&folder);
    if required || corpus_dir.is_dir() {
        for path in files_with_extension(&corpus_dir, "tsv")? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((format!("{prefix}{folder}/{name}"), read(&path)?));
        }
    }
    Ok((out, base_names))
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The regular files of `dir` ending in `.ext`, sorted by name.
fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<std::path::PathBuf>, Error> {
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(ext) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Just `[book] corpus`, read leniently before the real parse.
#[derive(Deserialize)]
struct CorpusKey {
    book: Option<CorpusKeyBook>,
}

#[derive(Deserialize)]
struct CorpusKeyBook {
    corpus: Option<String>,
    extends: Option<String>,
}

/// Parses a book from `(file name, contents)` pairs, as if they were the files of a directory:
/// names ending in `.tsv` are corpus files (`corpus/a.tsv`), all others TOML.
pub fn parse_str(files: &[(&str, &str)]) -> Result<Phrasebook, Error> {
    parse_layers(files, &Default::default())
}

/// [`parse_str`] where the files named in `base` come from a base book (`extends`): this
/// book's definitions override theirs by id instead of being duplicates.
fn parse_layers(
    files: &[(&str, &str)],
    base: &std::collections::HashSet<String>,
) -> Result<Phrasebook, Error> {
    let mut hasher = Sha256::new();
    let mut raws = Vec::with_capacity(files.len());
    let mut corpus_files = Vec::new();
    let mut syntax = Vec::new();
    for (name, text) in files {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
        if name.ends_with(".tsv") {
            corpus_files.push((*name, *text));
            continue;
        }
        // A syntax error does not stop the reading: every file's first syntax error is reported
        // in the same run (TOML itself cannot go on inside a broken file).
        match toml::from_str::<RawFile>(text) {
            Ok(raw) => raws.push((*name, *text, raw)),
            Err(e) => syntax.push(Problem {
                origin: Origin {
                    file: (*name).to_string(),
                    line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
                },
                id: None,
                message: format!("TOML syntax: {}", e.message()),
            }),
        }
    }
    if !syntax.is_empty() {
        // The other files' definitions are not checked: what a broken file leaves out would
        // only show up as follow-on problems elsewhere.
        return Err(Error::Invalid(Problems(syntax)));
    }
    let digest = hasher.finalize();
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();

    let mut b = Builder {
        base_files: base.clone(),
        ..Default::default()
    };
    for (name, text, raw) in raws {
        b.file(name, text, raw);
    }
    for (name, text) in corpus_files {
        crate::corpus::parse_file(name, text, &mut b.book.corpus, &mut b.problems);
    }
    crate::corpus::check_duplicates(&b.book.corpus, &mut b.problems);
    b.finish(hash)
}

fn line_of(text: &str, byte: usize) -> usize {
    let byte = byte.min(text.len());
    text.as_bytes()[..byte]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    book: Option<Spanned<RawBook>>,
    slots: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    intent: Vec<Spanned<RawIntent>>,
    #[serde(default)]
    emotion: Vec<Spanned<RawEmotion>>,
    modifiers: Option<RawModifiers>,
    urgent: Option<Spanned<RawUrgent>>,
    style: Option<Spanned<RawStyle>>,
    #[serde(default)]
    script: Vec<Spanned<RawScript>>,
    #[serde(default)]
    faq: Vec<Spanned<RawFaq>>,
    #[serde(default)]
    product: Vec<Spanned<RawProduct>>,
    #[serde(default)]
    category: Vec<Spanned<RawCategory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBook {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    description: String,
    /// The training-corpus folder, relative to the book directory.
    #[serde(default)]
    corpus: Option<String>,
    /// The base book this one is layered on: acted on by `load_dir`'s first pass (`gather`),
    /// declared here so `deny_unknown_fields` accepts it.
    #[serde(default)]
    #[allow(dead_code)]
    extends: Option<String>,
    /// Ids of base definitions (rules, scripts, FAQ, products) this book drops.
    #[serde(default)]
    remove: Vec<String>,
}

/// A list of strings (weight 1.0 each) or a table of string → weight.
#[derive(Deserialize)]
#[serde(untagged)]
enum Weighted {
    List(Vec<String>),
    Map(BTreeMap<String, f32>),
}

impl Default for Weighted {
    fn default() -> Self {
        Weighted::List(Vec::new())
    }
}

impl Weighted {
    fn into_vec(self) -> Vec<(String, f32)> {
        match self {
            Weighted::List(v) => v.into_iter().map(|s| (s, 1.0)).collect(),
            Weighted::Map(m) => m.into_iter().collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) id: String,
    pub(crate) category: String,
    pub(crate) severity: String,
    #[serde(default)]
    pub(crate) phrases: Vec<String>,
    #[serde(default)]
    pub(crate) patterns: Vec<String>,
    #[serde(default)]
    pub(crate) allow: Vec<String>,
    #[serde(default)]
    pub(crate) boundary: bool,
    #[serde(default)]
    pub(crate) position: Option<String>,
    pub(crate) rewrite: String,
    #[serde(default)]
    pub(crate) note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    keywords: Weighted,
    #[serde(default)]
    patterns: Weighted,
    #[serde(default)]
    examples: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmotion {
    label: String,
    #[serde(default)]
    words: Weighted,
    #[serde(default)]
    patterns: Weighted,
    #[serde(default)]
    examples: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModifiers {
    #[serde(default)]
    negators: Vec<String>,
    #[serde(default)]
    intensifiers: Weighted,
    #[serde(default)]
    diminishers: Weighted,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUrgent {
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    group: Vec<Spanned<RawUrgentGroup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUrgentGroup {
    kind: String,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    #[serde(default)]
    rational: Weighted,
    #[serde(default)]
    emotional: Weighted,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScript {
    pub(crate) id: String,
    pub(crate) intent: String,
    pub(crate) stage: String,
    #[serde(default)]
    pub(crate) emotions: Vec<String>,
    #[serde(default)]
    pub(crate) style: Option<String>,
    #[serde(default)]
    pub(crate) urgent: bool,
    #[serde(default)]
    pub(crate) urgent_kind: Option<String>,
    #[serde(default)]
    pub(crate) safety: Option<String>,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    pub(crate) text: String,
    #[serde(default)]
    pub(crate) priority: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaq {
    id: String,
    questions: Vec<String>,
    answer: String,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    title: String,
    /// Category names or ids, or "all" (the default when absent).
    #[serde(default)]
    categories: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    sku: String,
    title: String,
    #[serde(default)]
    aliases: Vec<String>,
    category: String,
    #[serde(default)]
    attributes: toml::Table,
    #[serde(default)]
    faq: Vec<RawProductFaq>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProductFaq {
    /// Defaults to the entry's position (`<sku>.faq1`, …).
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    questions: Vec<String>,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: String,
    #[serde(default)]
    words: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Builder {
    pub(crate) book: Phrasebook,
    meta_seen: Option<Origin>,
    pub(crate) problems: Vec<Problem>,
    /// Ids per namespace ("rule", "intent", "script", "faq", "emotion") → first origin.
    ids: HashMap<(&'static str, String), Origin>,
    /// Files read from a base book (`extends`): their definitions may be overridden by id.
    base_files: std::collections::HashSet<String>,
    /// (namespace, id, origin of the base definition) replaced by this book's.
    overridden: Vec<(&'static str, String, Origin)>,
    /// `[book] remove` with the table's origin.
    remove: Vec<(String, Origin)>,
    /// (origin, id, text) of scripts refused for an unknown intent or stage: their text is
    /// still checked, so one run reports every problem.
    refused_scripts: Vec<(Origin, String, String)>,
}

impl Builder {
    fn problem(&mut self, origin: &Origin, id: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            origin: origin.clone(),
            id: id.map(str::to_string),
            message: message.into(),
        });
    }

    fn unique(&mut self, ns: &'static str, id: &str, origin: &Origin) {
        if id.trim().is_empty() {
            self.problem(origin, None, format!("{ns} with an empty id"));
            return;
        }
        if let Some(first) = self.ids.get(&(ns, id.to_string())) {
            let first = first.clone();
            if self.base_files.contains(&first.file) && !self.base_files.contains(&origin.file) {
                // Override by id: this book's definition replaces the base's (`extends`).
                self.overridden.push((ns, id.to_string(), first));
                self.ids.insert((ns, id.to_string()), origin.clone());
                return;
            }
            self.problem(
                origin,
                Some(id),
                format!("duplicate {ns} id (first defined at {first})"),
            );
        } else {
            self.ids.insert((ns, id.to_string()), origin.clone());
        }
    }

    fn non_empty_list(&mut self, origin: &Origin, id: &str, what: &str, items: &[String]) {
        for (i, item) in items.iter().enumerate() {
            if item.trim().is_empty() {
                self.problem(origin, Some(id), format!("{what}[{i}] is empty"));
            }
        }
    }

    fn file(&mut self, name: &str, text: &str, raw: RawFile) {
        let at = |start: usize| Origin {
            file: name.to_string(),
            line: line_of(text, start),
        };
        if let Some(book) = raw.book {
            let origin = at(book.span().start);
            if let Some(first) = &self.meta_seen {
                let first = first.clone();
                self.problem(
                    &origin,
                    None,
                    format!("second [book] table (first at {first})"),
                );
            }
            let book = book.into_inner();
            if book.name.trim().is_empty() {
                self.problem(&origin, None, "[book] name is empty");
            }
            self.book.meta.name = book.name;
            self.book.meta.version = book.version;
            self.book.meta.description = book.description;
            self.book.meta.corpus = book.corpus;
            self.remove = book
                .remove
                .into_iter()
                .map(|id| (id, origin.clone()))
                .collect();
            self.meta_seen = Some(origin);
        }
        if let Some(slots) = raw.slots {
            self.book.slots.extend(slots);
        }
        for r in raw.rule {
            let origin = at(r.span().start);
            self.rule(r.into_inner(), origin);
        }
        for i in raw.intent {
            let origin = at(i.span().start);
            self.intent(i.into_inner(), origin);
        }
        for e in raw.emotion {
            let origin = at(e.span().start);
            self.emotion(e.into_inner(), origin);
        }
        if let Some(m) = raw.modifiers {
            let m2 = &mut self.book.modifiers;
            m2.negators.extend(m.negators);
            m2.intensifiers.extend(m.intensifiers.into_vec());
            m2.diminishers.extend(m.diminishers.into_vec());
        }
        if let Some(u) = raw.urgent {
            let origin = at(u.span().start);
            let u = u.into_inner();
            self.non_empty_list(&origin, "urgent", "words", &u.words);
            let mut groups = Vec::with_capacity(u.group.len());
            for g in u.group {
                let g_origin = at(g.span().start);
                let g = g.into_inner();
                let Some(kind) = UrgentKind::parse(g.kind.trim()) else {
                    self.problem(
                        &g_origin,
                        Some("urgent"),
                        format!(
                            "unknown urgent kind {:?} (expected one of {})",
                            g.kind,
                            UrgentKind::ALL.map(UrgentKind::as_str).join(", ")
                        ),
                    );
                    continue;
                };
                self.non_empty_list(&g_origin, kind.as_str(), "words", &g.words);
                self.non_empty_list(&g_origin, kind.as_str(), "patterns", &g.patterns);
                groups.push(UrgentGroup {
                    kind,
                    words: g.words,
                    patterns: g.patterns,
                    origin: g_origin,
                });
            }
            let dst = &mut self.book.urgent;
            dst.words.extend(u.words);
            dst.patterns.extend(u.patterns);
            dst.allow.extend(u.allow);
            dst.groups.extend(groups);
            dst.origin = origin;
        }
        if let Some(s) = raw.style {
            let origin = at(s.span().start);
            let s = s.into_inner();
            let dst = &mut self.book.style;
            dst.rational.extend(s.rational.into_vec());
            dst.emotional.extend(s.emotional.into_vec());
            dst.origin = origin;
        }
        for s in raw.script {
            let origin = at(s.span().start);
            self.script(s.into_inner(), origin);
        }
        for f in raw.faq {
            let origin = at(f.span().start);
            self.faq(f.into_inner(), origin);
        }
        for p in raw.product {
            let origin = at(p.span().start);
            self.product(p.into_inner(), origin);
        }
        for c in raw.category {
            let origin = at(c.span().start);
            self.category(c.into_inner(), origin);
        }
    }

    fn parse_category(&mut self, origin: &Origin, id: &str, name: &str) -> Option<ProductCategory> {
        let c = ProductCategory::parse(name);
        if c.is_none() {
            let names: Vec<&str> = ProductCategory::ALL.iter().map(|c| c.name()).collect();
            self.problem(
                origin,
                Some(id),
                format!(
                    "unknown product category {name:?} (expected one of {})",
                    names.join(", ")
                ),
            );
        }
        c
    }

    fn product(&mut self, p: RawProduct, origin: Origin) {
        self.unique("product", &p.sku, &origin);
        if p.title.trim().is_empty() {
            self.problem(&origin, Some(&p.sku), "product title is empty");
        }
        self.non_empty_list(&origin, &p.sku, "aliases", &p.aliases);
        let category = self.parse_category(&origin, &p.sku, &p.category);
        let mut attributes = Vec::with_capacity(p.attributes.len());
        for (k, v) in p.attributes {
            match v {
                toml::Value::String(v) => attributes.push((k, v)),
                toml::Value::Integer(i) => attributes.push((k, i.to_string())),
                toml::Value::Float(f) => attributes.push((k, f.to_string())),
                toml::Value::Boolean(b) => {
                    attributes.push((k, if b { "是" } else { "否" }.to_string()))
                }
                _ => self.problem(
                    &origin,
                    Some(&p.sku),
                    format!("attribute {k:?} must be a string or a number"),
                ),
            }
        }
        for (n, f) in p.faq.into_iter().enumerate() {
            let id = match &f.id {
                Some(id) => format!("{}.{id}", p.sku),
                None => format!("{}.faq{}", p.sku, n + 1),
            };
            self.faq(
                RawFaq {
                    id,
                    questions: f.questions,
                    answer: f.answer,
                    intent: f.intent.or_else(|| Some("product_inquiry".to_string())),
                    source: if f.source.is_empty() {
                        format!("商品目录 {}", p.sku)
                    } else {
                        f.source
                    },
                    categories: category
                        .map(|c| vec![c.name().to_string()])
                        .unwrap_or_default(),
                    title: String::new(),
                },
                origin.clone(),
            );
            if let Some(last) = self.book.faq.last_mut() {
                last.product = Some(p.sku.clone());
            }
        }
        if let Some(category) = category {
            self.book.products.push(Product {
                sku: p.sku,
                title: p.title,
                aliases: p.aliases,
                category,
                attributes,
                origin,
            });
        }
    }

    fn category(&mut self, c: RawCategory, origin: Origin) {
        self.non_empty_list(&origin, &c.id, "words", &c.words);
        if let Some(category) = self.parse_category(&origin, &c.id, &c.id) {
            self.book.category_words.push(CategoryWords {
                category,
                words: c.words,
                origin,
            });
        }
    }

    pub(crate) fn rule(&mut self, r: RawRule, origin: Origin) {
        self.unique("rule", &r.id, &origin);
        let category = RuleCategory::parse(r.category.trim());
        if category.is_none() {
            self.problem(&origin, Some(&r.id), RuleCategory::unknown(&r.category));
        }
        let severity = Severity::parse(&r.severity).unwrap_or_else(|| {
            self.problem(
                &origin,
                Some(&r.id),
                format!(
                    "unknown severity {:?} (expected block, warn or hint)",
                    r.severity
                ),
            );
            Severity::Warn
        });
        let position = match r.position.as_deref() {
            None | Some("any") => Position::Anywhere,
            Some("start") => Position::Start,
            Some(other) => {
                self.problem(
                    &origin,
                    Some(&r.id),
                    format!("unknown position {other:?} (expected any or start)"),
                );
                Position::Anywhere
            }
        };
        if r.phrases.is_empty() && r.patterns.is_empty() {
            self.problem(
                &origin,
                Some(&r.id),
                "rule has neither phrases nor patterns",
            );
        }
        self.non_empty_list(&origin, &r.id, "phrases", &r.phrases);
        self.non_empty_list(&origin, &r.id, "patterns", &r.patterns);
        self.non_empty_list(&origin, &r.id, "allow", &r.allow);
        if r.rewrite.trim().is_empty() {
            self.problem(&origin, Some(&r.id), "rewrite is empty");
        }
        let Some(category) = category else {
            return;
        };
        self.book.rules.push(ForbiddenRule {
            id: r.id,
            category,
            severity,
            phrases: r.phrases,
            patterns: r.patterns,
            allow: r.allow,
            boundary: r.boundary,
            position,
            rewrite: r.rewrite,
            note: r.note,
            origin,
        });
    }

    fn intent(&mut self, i: RawIntent, origin: Origin) {
        self.unique("intent", &i.id, &origin);
        if !INTENTS.contains(&i.id.as_str()) {
            self.problem(
                &origin,
                Some(&i.id),
                format!("unknown intent id (expected one of {})", INTENTS.join(", ")),
            );
        }
        self.non_empty_list(&origin, &i.id, "examples", &i.examples);
        let keywords = i.keywords.into_vec();
        let patterns = i.patterns.into_vec();
        for (k, w) in keywords.iter().chain(&patterns) {
            if k.trim().is_empty() || !w.is_finite() {
                self.problem(
                    &origin,
                    Some(&i.id),
                    format!("bad keyword/pattern {k:?} = {w}"),
                );
            }
        }
        self.book.intents.push(IntentDef {
            id: i.id,
            name: i.name,
            keywords,
            patterns,
            examples: i.examples,
            origin,
        });
    }

    fn emotion(&mut self, e: RawEmotion, origin: Origin) {
        self.unique("emotion", &e.label, &origin);
        if !EMOTIONS.contains(&e.label.as_str()) {
            self.problem(
                &origin,
                Some(&e.label),
                format!(
                    "unknown emotion label (expected one of {})",
                    EMOTIONS.join(", ")
                ),
            );
        }
        self.non_empty_list(&origin, &e.label, "examples", &e.examples);
        self.book.emotions.push(EmotionDef {
            label: e.label,
            words: e.words.into_vec(),
            patterns: e.patterns.into_vec(),
            examples: e.examples,
            origin,
        });
    }

    pub(crate) fn script(&mut self, s: RawScript, origin: Origin) {
        self.unique("script", &s.id, &origin);
        let intent = Intent::parse(s.intent.trim());
        if intent.is_none() {
            self.problem(&origin, Some(&s.id), Intent::unknown(&s.intent));
        }
        let stage = Stage::parse(s.stage.trim());
        if stage.is_none() {
            self.problem(&origin, Some(&s.id), Stage::unknown(&s.stage));
        }
        let mut emotions = Vec::with_capacity(s.emotions.len());
        for e in &s.emotions {
            match EmotionLabel::parse(e.trim()) {
                Some(e) => emotions.push(e),
                None => self.problem(&origin, Some(&s.id), EmotionLabel::unknown(e)),
            }
        }
        let mut tags = Vec::with_capacity(s.tags.len());
        for t in &s.tags {
            match Tag::parse(t.trim()) {
                Some(t) if tags.contains(&t) => {
                    self.problem(&origin, Some(&s.id), format!("tag \"{t}\" twice"))
                }
                Some(t) => tags.push(t),
                None => self.problem(&origin, Some(&s.id), Tag::unknown(t)),
            }
        }
        let style = match s.style.as_deref() {
            None | Some("any") => None,
            Some(x) => match Style::parse(x) {
                Some(st) => Some(st),
                None => {
                    self.problem(
                        &origin,
                        Some(&s.id),
                        format!("unknown style {x:?} (expected rational, emotional or any)"),
                    );
                    None
                }
            },
        };
        if s.text.trim().is_empty() {
            self.problem(&origin, Some(&s.id), "text is empty");
        }
        let urgent_kind = s.urgent_kind.as_deref().and_then(|k| {
            let kind = UrgentKind::parse(k);
            if kind.is_none() {
                self.problem(
                    &origin,
                    Some(&s.id),
                    format!(
                        "unknown urgent_kind {k:?} (expected one of {})",
                        UrgentKind::ALL.map(UrgentKind::as_str).join(", ")
                    ),
                );
            }
            kind
        });
        let safety = s.safety.as_deref().and_then(|x| {
            let step = SafetyStep::parse(x);
            if step.is_none() {
                self.problem(
                    &origin,
                    Some(&s.id),
                    format!(
                        "unknown safety step {x:?} (expected first_action, escalation or follow_up)"
                    ),
                );
            }
            step
        });
        let urgent = s.urgent || urgent_kind.is_some() || safety.is_some();
        if urgent
            && let Some(t) = tags
                .iter()
                .find(|t| t.kind().is_some_and(TagKind::unsafe_in_safety))
        {
            self.problem(
                &origin,
                Some(&s.id),
                format!(
                    "a safety script cannot carry the tag {t:?} (never offered in safety mode)"
                ),
            );
        }
        let (Some(intent), Some(stage)) = (intent, stage) else {
            self.refused_scripts.push((origin, s.id, s.text));
            return;
        };
        self.book.scripts.push(Script {
            id: s.id,
            intent,
            stage,
            emotions,
            style,
            urgent,
            urgent_kind,
            safety,
            title: s.title.trim().to_string(),
            tags,
            text: s.text,
            priority: s.priority,
            origin,
        });
    }

    fn faq(&mut self, f: RawFaq, origin: Origin) {
        self.unique("faq", &f.id, &origin);
        if f.questions.is_empty() {
            self.problem(&origin, Some(&f.id), "faq has no questions");
        }
        self.non_empty_list(&origin, &f.id, "questions", &f.questions);
        if f.answer.trim().is_empty() {
            self.problem(&origin, Some(&f.id), "answer is empty");
        }
        let intent = match f.intent.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(i) => {
                let intent = Intent::parse(i);
                if intent.is_none() {
                    self.problem(&origin, Some(&f.id), Intent::unknown(i));
                }
                intent
            }
        };
        let mut categories = Vec::new();
        let all = f
            .categories
            .iter()
            .any(|c| matches!(c.trim(), "all" | "通用" | "全部"));
        if all && f.categories.len() > 1 {
            self.problem(
                &origin,
                Some(&f.id),
                "categories: \"all\" cannot be combined with named categories",
            );
        }
        if !all {
            for c in &f.categories {
                if let Some(c) = self.parse_category(&origin, &f.id, c)
                    && !categories.contains(&c)
                {
                    categories.push(c);
                }
            }
        }
        self.book.faq.push(FaqEntry {
            id: f.id,
            questions: f.questions,
            answer: f.answer,
            intent,
            source: f.source,
            title: f.title.trim().to_string(),
            categories,
            product: None,
            origin,
        });
    }

    /// Every {slot} used by a script must be declared in [slots].
    pub(crate) fn check_slots(&mut self) {
        let scripts = std::mem::take(&mut self.book.scripts);
        let refused = std::mem::take(&mut self.refused_scripts);
        let texts = scripts
            .iter()
            .map(|s| (&s.origin, s.id.as_str(), s.text.as_str()))
            .chain(
                refused
                    .iter()
                    .map(|(o, id, t)| (o, id.as_str(), t.as_str())),
            );
        for (origin, id, text) in texts {
            match slots_in(text) {
                Ok(slots) => {
                    for slot in slots {
                        if !self.book.slots.contains_key(slot) {
                            self.problem(
                                origin,
                                Some(id),
                                format!("unknown slot {{{slot}}} (declare it in [slots])"),
                            );
                        }
                    }
                }
                Err(msg) => self.problem(origin, Some(id), msg),
            }
        }
        self.book.scripts = scripts;
    }

    /// Applies `extends`: drops the base definitions this book overrides or removes.
    fn layer(&mut self) {
        fn drop<T>(
            v: &mut Vec<T>,
            key: impl Fn(&T) -> (&str, &Origin),
            id: &str,
            at: Option<&Origin>,
            base: &std::collections::HashSet<String>,
        ) -> usize {
            let before = v.len();
            v.retain(|x| {
                let (xid, o) = key(x);
                let hit = xid == id && at.is_none_or(|a| a == o) && base.contains(&o.file);
                !hit
            });
            before - v.len()
        }
        let base = std::mem::take(&mut self.base_files);
        let b = &mut self.book;
        for (ns, id, at) in std::mem::take(&mut self.overridden) {
            let at = Some(&at);
            match ns {
                "rule" => drop(&mut b.rules, |x| (x.id.as_str(), &x.origin), &id, at, &base),
                "intent" => drop(
                    &mut b.intents,
                    |x| (x.id.as_str(), &x.origin),
                    &id,
                    at,
                    &base,
                ),
                "emotion" => drop(
                    &mut b.emotions,
                    |x| (x.label.as_str(), &x.origin),
                    &id,
                    at,
                    &base,
                ),
                "script" => drop(
                    &mut b.scripts,
                    |x| (x.id.as_str(), &x.origin),
                    &id,
                    at,
                    &base,
                ),
                "faq" => drop(&mut b.faq, |x| (x.id.as_str(), &x.origin), &id, at, &base),
                "product" => drop(
                    &mut b.products,
                    |x| (x.sku.as_str(), &x.origin),
                    &id,
                    at,
                    &base,
                ),
                _ => 0,
            };
        }
        for (id, origin) in std::mem::take(&mut self.remove) {
            let n = drop(
                &mut b.rules,
                |x| (x.id.as_str(), &x.origin),
                &id,
                None,
                &base,
            ) + drop(
                &mut b.scripts,
                |x| (x.id.as_str(), &x.origin),
                &id,
                None,
                &base,
            ) + drop(&mut b.faq, |x| (x.id.as_str(), &x.origin), &id, None, &base)
                + drop(
                    &mut b.products,
                    |x| (x.sku.as_str(), &x.origin),
                    &id,
                    None,
                    &base,
                );
            if n == 0 {
                self.problems.push(Problem {
                    origin,
                    id: Some(id),
                    message: "[book] remove: no rule, script, FAQ entry or product of the base book (extends) has this id".into(),
                });
            }
        }
    }

    fn finish(mut self, hash: String) -> Result<Phrasebook, Error> {
        self.layer();
        if self.meta_seen.is_none() {
            self.problem(
                &Origin {
                    file: "book.toml".into(),
                    line: 0,
                },
                None,
                "no [book] table in any file",
            );
        }
        self.check_slots();
        if self.problems.is_empty() {
            self.book.meta.hash = hash;
            Ok(self.book)
        } else {
            Err(Error::Invalid(Problems(self.problems)))
        }
    }
}

/// The `{slot}` names of a script text, in order. Errors on an unclosed or empty brace.
pub fn slots_in(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in text {text:?}"))?;
        let name = &after[..close];
        if name.is_empty() || name.contains('{') {
            return Err(format!("bad slot in text {text:?}"));
        }
        out.push(name);
        rest = &after[close + 1..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = "[book]\nname = \"t\"\n[slots]\n\"称呼\" = \"亲\"\n";

    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        match parse_str(files) {
            Ok(_) => vec![],
            Err(Error::Invalid(p)) => p.0.iter().map(|p| p.to_string()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn loads_a_small_book_and_hashes_it() {
        let rules = "[[rule]]\nid = \"provoke.go_sue\"\ncategory = \"provoke\"\nseverity = \"block\"\nphrases = [\"你去告啊\"]\nrewrite = \"非常抱歉\"\n";
        let book = parse_str(&[("book.toml", BOOK), ("forbidden.toml", rules)]).unwrap();
        assert_eq!(book.rules.len(), 1);
        assert_eq!(book.rules[0].origin.line, 1);
        assert_eq!(book.rules[0].severity, Severity::Block);
        assert_eq!(book.meta.hash.len(), 16);
        let other = parse_str(&[
            ("book.toml", BOOK),
            ("forbidden.toml", &rules.replace("非常", "十分")),
        ])
        .unwrap();
        assert_ne!(book.meta.hash, other.meta.hash);
    }

    #[test]
    fn errors_name_file_line_and_id() {
        let rules = "\n[[rule]]\nid = \"a\"\ncategory = \"provoke\"\nseverity = \"block\"\nphrases = [\"x\"]\nrewrite = \"r\"\n\n[[rule]]\nid = \"a\"\ncategory = \"nope\"\nseverity = \"loud\"\nphrases = [\"\"]\nrewrite = \"r\"\n";
        let p = problems(&[("book.toml", BOOK), ("f.toml", rules)]);
        assert!(
            p.iter()
                .any(|m| m
                    .starts_with("f.toml:9: [a] duplicate rule id (first defined at f.toml:2)")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.starts_with("f.toml:9: [a] unknown category")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.starts_with("f.toml:9: [a] unknown severity")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m == "f.toml:9: [a] phrases[0] is empty"),
            "{p:?}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let p = problems(&[("book.toml", BOOK), ("x.toml", "[[rule]]\nid = \"a\nfoo")]);
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("x.toml:3: TOML syntax"), "{p:?}");
    }

    /// "Five problems in one file take five lint runs": at least every broken file shows up in
    /// one run.
    #[test]
    fn every_file_with_a_syntax_error_is_reported_in_one_run() {
        let p = problems(&[
            ("book.toml", BOOK),
            ("x.toml", "[[rule]]\nid = \"a\nfoo"),
            ("y.toml", "[[script]]\nid = = 1\n"),
        ]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("x.toml:3: TOML syntax"), "{p:?}");
        assert!(p[1].starts_with("y.toml:2: TOML syntax"), "{p:?}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let p = problems(&[(
            "book.toml",
            &format!("{BOOK}[[faq]]\nid=\"f\"\nquestions=[\"q\"]\nanswer=\"a\"\nanswr=\"typo\"\n"),
        )]);
        assert!(p[0].contains("unknown field `answr`"), "{p:?}");
    }

    /// Every closed set refuses an unknown member at load, naming file, line and id, and all
    /// of them are reported in one run.
    #[test]
    fn unknown_closed_set_members_name_file_and_line() {
        let rules = "# header\n[[rule]]\nid = \"r1\"\ncategory = \"rude\"\nseverity = \"block\"\nphrases = [\"喂\"]\nrewrite = \"您好\"\n";
        let scripts = "[[script]]\nid = \"s1\"\nintent = \"shipping\"\nstage = \"solve\"\nemotions = [\"angry\"]\ntags = [\"info\", \"vip\", \"solution\", \"solution\"]\ntext = \"好的\"\n\n[[script]]\nid = \"s2\"\nintent = \"refund\"\nstage = \"later\"\ntext = \"好的\"\n";
        let faq =
            "[[faq]]\nid = \"f1\"\nquestions = [\"q\"]\nanswer = \"a\"\nintent = \"delivery\"\n";
        let p = problems(&[
            ("book.toml", BOOK),
            ("f.toml", rules),
            ("s.toml", scripts),
            ("q.toml", faq),
        ]);
        const WANT: &[&str] = &[
            "f.toml:2: [r1] unknown category \"rude\" (expected one of provoke (激化矛盾)",
            "s.toml:1: [s1] unknown emotion \"angry\" (expected one of anger (愤怒)",
            "s.toml:1: [s1] tag \"info\" changes nothing",
            "s.toml:1: [s1] unknown tag \"vip\" (expected one of empathy (共情)",
            "s.toml:1: [s1] tag \"solution\" twice",
            "s.toml:9: [s2] unknown intent \"refund\" (expected one of greeting (问候)",
            "s.toml:9: [s2] unknown stage \"later\" (expected one of greet (问候)",
            "q.toml:1: [f1] unknown intent \"delivery\"",
        ];
        for want in WANT {
            assert!(p.iter().any(|m| m.starts_with(want)), "{want}\n{p:#?}");
        }
        assert_eq!(p.len(), WANT.len(), "{p:#?}");
    }

    #[test]
    fn retired_tags_are_refused_with_a_reason() {
        for (tag, why) in REFUSED_TAGS {
            let s = format!(
                "[[script]]\nid = \"s\"\nintent = \"other\"\nstage = \"close\"\ntags = [\"{tag}\"]\ntext = \"好的\"\n"
            );
            let p = problems(&[("book.toml", BOOK), ("s.toml", &s)]);
            assert_eq!(p, vec![format!("s.toml:1: [s] {why}")]);
        }
    }

    #[test]
    fn scripts_need_known_slots_intents_and_stages() {
        let s = "[[script]]\nid = \"s1\"\nintent = \"shipping\"\nstage = \"solve\"\ntext = \"{称呼}您好，{订单号}\"\n[[script]]\nid = \"s2\"\nintent = \"shiping\"\nstage = \"later\"\ntext = \"{称呼\"\n";
        let p = problems(&[("book.toml", BOOK), ("s.toml", s)]);
        assert!(
            p.iter().any(|m| m.contains("[s1] unknown slot {订单号}")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("[s2] unknown intent")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("[s2] unknown stage")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("[s2] unclosed")), "{p:?}");
    }

    const CATALOG: &str = r#"
[[product]]
sku = "mug-1"
title = "手绘陶瓷马克杯"
aliases = ["马克杯"]
category = "家居餐具"
attributes = { "材质" = "陶瓷", "容量" = "350ml", "可机洗" = true }
[[product.faq]]
questions = ["能用洗碗机吗"]
answer = "可以放洗碗机。"
[[product.faq]]
id = "microwave"
questions = ["能进微波炉吗"]
answer = "可以。"

[[category]]
id = "home"
words = ["杯子", "碗"]

[[faq]]
id = "faq.ship"
questions = ["多久发货"]
answer = "48小时内。"
categories = ["all"]

[[faq]]
id = "faq.wash"
questions = ["怎么洗"]
answer = "冷水手洗。"
categories = ["服装鞋包", "baby_toys"]
"#;

    #[test]
    fn catalogue_products_faq_and_categories_load() {
        let book = parse_str(&[("book.toml", BOOK), ("catalog.toml", CATALOG)]).unwrap();
        assert_eq!(book.products.len(), 1);
        let p = &book.products[0];
        assert_eq!(p.category, ProductCategory::Home);
        assert_eq!(p.origin.line, 2);
        assert!(
            p.attributes
                .contains(&("可机洗".to_string(), "是".to_string()))
        );
        let ids: Vec<(&str, Option<&str>, Vec<ProductCategory>)> = book
            .faq
            .iter()
            .map(|f| (f.id.as_str(), f.product.as_deref(), f.categories.clone()))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("faq.ship", None, vec![]),
                (
                    "faq.wash",
                    None,
                    vec![ProductCategory::Apparel, ProductCategory::BabyToys]
                ),
                ("mug-1.faq1", Some("mug-1"), vec![ProductCategory::Home]),
                (
                    "mug-1.microwave",
                    Some("mug-1"),
                    vec![ProductCategory::Home]
                ),
            ]
        );
        assert_eq!(book.category_words[0].category, ProductCategory::Home);
    }

    #[test]
    fn catalogue_problems_name_file_line_and_sku() {
        const CASES: &[(&str, &str)] = &[
            (
                "[[product]]\nsku = \"a\"\ntitle = \"杯\"\ncategory = \"家具\"\n",
                "c.toml:1: [a] unknown product category \"家具\"",
            ),
            (
                "[[product]]\nsku = \"a\"\ntitle = \"杯\"\ncategory = \"home\"\n[[product]]\nsku = \"a\"\ntitle = \"碗\"\ncategory = \"home\"\n",
                "c.toml:5: [a] duplicate product id (first defined at c.toml:1)",
            ),
            (
                "[[product]]\nsku = \"a\"\ntitle = \"杯\"\ncategory = \"home\"\n[[product.faq]]\nanswer = \"可以\"\n",
                "c.toml:1: [a.faq1] faq has no questions",
            ),
            (
                "[[product]]\nsku = \"a\"\ntitle = \"杯\"\ncategory = \"home\"\n[[product.faq]]\nquestions = [\"能洗吗\"]\n",
                "c.toml:1: [a.faq1] answer is empty",
            ),
            (
                "[[product]]\nsku = \"a\"\ntitle = \" \"\ncategory = \"home\"\n",
                "c.toml:1: [a] product title is empty",
            ),
            (
                "[[faq]]\nid = \"f\"\nquestions = [\"q\"]\nanswer = \"a\"\ncategories = [\"all\", \"home\"]\n",
                "c.toml:1: [f] categories: \"all\" cannot be combined",
            ),
            (
                "[[faq]]\nid = \"f\"\nquestions = [\"q\"]\nanswer = \"a\"\ncategories = [\"衣服\"]\n",
                "c.toml:1: [f] unknown product category \"衣服\"",
            ),
            (
                "[[category]]\nid = \"toys\"\nwords = [\"积木\"]\n",
                "c.toml:1: [toys] unknown product category \"toys\"",
            ),
        ];
        for (text, want) in CASES {
            let p = problems(&[("book.toml", BOOK), ("c.toml", text)]);
            assert!(p.iter().any(|m| m.starts_with(want)), "{text}: {p:?}");
        }
    }

    #[test]
    fn missing_book_table_is_reported() {
        let p = problems(&[("a.toml", "[slots]\nx = \"\"\n")]);
        assert!(p[0].contains("no [book] table"), "{p:?}");
    }
}
