//! A shop's catalogue from a spreadsheet (`huashu csv import-catalog`): one CSV row per product
//! or per product FAQ, rendered to a `[[product]]` TOML file of the book.
//!
//! Columns (header row required, UTF-8, a BOM is fine): `sku, title, category, aliases,
//! attributes, questions, answer`. The first row of an sku defines the product (title and
//! category required); further rows with the same sku only add FAQ entries. List cells
//! (aliases, questions, attributes) hold one item per line, or items separated by `|`;
//! attributes are `名称=值` (or `名称：值`). Problems name the CSV file and row.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Origin, ProductCategory};
use crate::{Problem, Problems};

const HEADER: &[&str] = &[
    "sku",
    "title",
    "category",
    "aliases",
    "attributes",
    "questions",
    "answer",
];

#[derive(Serialize)]
struct OutFile {
    product: Vec<OutProduct>,
}

#[derive(Serialize)]
struct OutProduct {
    sku: String,
    title: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    category: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    faq: Vec<OutFaq>,
}

#[derive(Serialize)]
struct OutFaq {
    questions: Vec<String>,
    answer: String,
}

fn items(cell: &str) -> Vec<String> {
    cell.split(['\n', '|', '｜'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses the catalogue CSV `text` (named `file` in problems) into the TOML of a book file.
pub fn catalog_csv_to_toml(file: &str, text: &str) -> Result<String, Problems> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Vec::new();
    let at = |row: usize| Origin {
        file: file.to_string(),
        line: row,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => {
            return Err(Problems(vec![Problem {
                origin: at(1),
                id: None,
                message: format!("cannot read the header row: {e}"),
            }]));
        }
    };
    let col: Vec<Option<usize>> = HEADER
        .iter()
        .map(|name| header.iter().position(|h| h == name))
        .collect();
    for (name, c) in HEADER.iter().zip(&col) {
        if c.is_none() {
            problems.push(Problem {
                origin: at(1),
                id: None,
                message: format!("missing column {name:?} (columns: {})", HEADER.join(", ")),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let mut products: Vec<OutProduct> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    origin: at(row),
                    id: None,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let cell = |k: usize| {
            col[k]
                .and_then(|c| record.get(c))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let (sku, title, category) = (cell(0), cell(1), cell(2));
        let (questions, answer) = (items(&cell(5)), cell(6));
        if sku.is_empty() {
            if record.iter().any(|c| !c.trim().is_empty()) {
                problems.push(Problem {
                    origin: at(row),
                    id: None,
                    message: "sku is empty".into(),
                });
            }
            continue;
        }
        let mut problem = |message: String| {
            problems.push(Problem {
                origin: at(row),
                id: Some(sku.clone()),
                message,
            })
        };
        let faq = match (questions.is_empty(), answer.is_empty()) {
            (true, true) => None,
            (false, false) => Some(OutFaq { questions, answer }),
            (true, false) => {
                problem("FAQ answer without questions".into());
                None
            }
            (false, true) => {
                problem("FAQ questions without an answer".into());
                None
            }
        };
        if let Some(p) = products.iter_mut().find(|p| p.sku == sku) {
            // A later row of the same product adds FAQ only.
            let differs = (!title.is_empty() && title != p.title)
                || (!category.is_empty() && category != p.category);
            if differs {
                problem(format!(
                    "sku already defined with another title or category (first definition kept: {})",
                    p.title
                ));
            }
            p.faq.extend(faq);
            continue;
        }
        if title.is_empty() {
            problem("title is empty".into());
        }
        if ProductCategory::parse(&category).is_none() {
            let names: Vec<&str> = ProductCategory::ALL.iter().map(|c| c.name()).collect();
            problem(format!(
                "unknown product category {category:?} (expected one of {})",
                names.join(", ")
            ));
        }
        let mut attributes = BTreeMap::new();
        for a in items(&cell(4)) {
            match a.split_once(['=', '：', ':']) {
                Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                    attributes.insert(k.trim().to_string(), v.trim().to_string());
                }
                _ => problem(format!("attribute {a:?} is not 名称=值")),
            }
        }
        products.push(OutProduct {
            sku: sku.clone(),
            title,
            aliases: items(&cell(3)),
            category: ProductCategory::parse(&category).map_or(category, |c| c.name().to_string()),
            attributes,
            faq: faq.into_iter().collect(),
        });
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let body = toml::to_string(&OutFile { product: products }).map_err(|e| {
        Problems(vec![Problem {
            origin: at(0),
            id: None,
            message: format!("cannot render TOML: {e}"),
        }])
    })?;
    Ok(format!(
        "# 商品目录：由 huashu csv import-catalog 从 {file} 生成。写法见 catalog.toml。\n\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\u{feff}sku,title,category,aliases,attributes,questions,answer\n\
mug-1,手绘马克杯,家居餐具,马克杯|陶瓷杯,\"材质=陶瓷\n容量：350ml\",\"能用洗碗机吗\n洗碗机能洗吗\",可以放洗碗机。\n\
mug-1,,,,,能进微波炉吗,可以进微波炉。\n\
tee-1,纯棉T恤,apparel,,,,\n";

    #[test]
    fn rows_become_products_with_faq() {
        let toml_text = catalog_csv_to_toml("shop.csv", CSV).expect("valid CSV");
        let book = crate::parse_str(&[
            ("book.toml", "[book]\nname = \"t\"\n"),
            ("catalog_shop.toml", &toml_text),
        ])
        .unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
        assert_eq!(book.products.len(), 2);
        let mug = &book.products[0];
        assert_eq!(mug.aliases, vec!["马克杯", "陶瓷杯"]);
        assert_eq!(
            mug.attributes,
            vec![
                ("容量".to_string(), "350ml".to_string()),
                ("材质".to_string(), "陶瓷".to_string())
            ]
        );
        assert_eq!(book.products[1].category, ProductCategory::Apparel);
        let faq: Vec<(&str, usize)> = book
            .faq
            .iter()
            .map(|f| (f.id.as_str(), f.questions.len()))
            .collect();
        assert_eq!(faq, vec![("mug-1.faq1", 2), ("mug-1.faq2", 1)]);
    }

    #[test]
    fn problems_name_the_row() {
        const CASES: &[(&str, &str)] = &[
            (
                "a,杯,家具,,,,",
                "x.csv:2: [a] unknown product category \"家具\"",
            ),
            ("a,,家居餐具,,,,", "x.csv:2: [a] title is empty"),
            (
                "a,杯,家居餐具,,,能洗吗,",
                "x.csv:2: [a] FAQ questions without an answer",
            ),
            (
                "a,杯,家居餐具,,,,可以",
                "x.csv:2: [a] FAQ answer without questions",
            ),
            (
                "a,杯,家居餐具,,材质,,",
                "x.csv:2: [a] attribute \"材质\" is not 名称=值",
            ),
            (",杯,家居餐具,,,,", "x.csv:2: sku is empty"),
        ];
        for (row, want) in CASES {
            let text = format!("sku,title,category,aliases,attributes,questions,answer\n{row}\n");
            let got = catalog_csv_to_toml("x.csv", &text).expect_err(row);
            assert!(
                got.0.iter().any(|p| p.to_string().starts_with(want)),
                "{row}: {got}"
            );
        }
        let got = catalog_csv_to_toml("x.csv", "sku,title\n").expect_err("columns");
        assert!(
            got.to_string().contains("missing column \"category\""),
            "{got}"
        );
        let got = catalog_csv_to_toml(
            "x.csv",
            "sku,title,category,aliases,attributes,questions,answer\na,杯,家居餐具,,,,\na,碗,家居餐具,,,,\n",
        )
        .expect_err("redefined");
        assert!(
            got.to_string().contains("x.csv:3: [a] sku already defined"),
            "{got}"
        );
    }
}
