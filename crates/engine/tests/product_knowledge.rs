//! Product knowledge on the shipped default book, through the whole customer pipeline (real
//! understanding, not a fixed intent): a question about a product or a category gets that
//! product's or category's FAQ answer, and nothing written for another category.

use std::path::Path;

use huashu_engine::{ConversationState, Engine};

fn engine() -> Engine {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    Engine::load(&dir).unwrap_or_else(|e| panic!("default book: {e}"))
}

/// (product page sku, customer turn, expected leading FAQ entry, entries/scripts never shown)
const CASES: &[(Option<&str>, &str, &str, &[&str])] = &[
    (
        None,
        "這個杯子可以用洗碗機洗嗎",
        "faq.home.dishwasher",
        &[
            "faq.apparel.wash",
            "product.material.solve",
            "demo-mug.dishwasher",
        ],
    ),
    (
        Some("demo-mug"),
        "這個杯子可以用洗碗機洗嗎",
        "demo-mug.dishwasher",
        &["faq.apparel.wash", "product.material.solve"],
    ),
    (
        Some("demo-mug"),
        "能放微波炉加热吗",
        "demo-mug.microwave",
        &["faq.apparel.wash"],
    ),
    (
        None,
        "这件衣服可以机洗吗",
        "faq.apparel.wash",
        &["faq.home.dishwasher"],
    ),
    (Some("demo-blocks"), "两岁能玩吗", "demo-blocks.age", &[]),
    (
        None,
        "积木适合多大的孩子",
        "faq.baby.age",
        &["demo-blocks.age"],
    ),
    (
        Some("demo-cream"),
        "敏感肌能用吗",
        "demo-cream.sensitive",
        &[],
    ),
    (
        Some("demo-case"),
        "我的手机能用吗，适配什么型号",
        "demo-case.compatible",
        &[],
    ),
    (None, "手机壳适配什么型号", "faq.digital.compatible", &[]),
    (
        None,
        "零食保质期多久",
        "faq.food.shelf_life",
        &["faq.beauty.expiry"],
    ),
    (
        None,
        "面霜开封后能用多久",
        "faq.beauty.expiry",
        &["faq.food.shelf_life"],
    ),
    (Some("demo-mug"), "多久发货", "faq.ship_time", &[]),
];

#[test]
fn product_questions_get_fitting_answers_from_the_default_book() {
    let engine = engine();
    for (page, text, want, never) in CASES {
        let mut conv = ConversationState::new();
        conv.set_product(*page);
        let out = engine.customer_turn(&mut conv, text, None);
        let ids: Vec<&str> = out
            .suggestions
            .iter()
            .map(|s| s.suggestion.script.as_str())
            .collect();
        let faq = out
            .suggestions
            .iter()
            .find(|s| s.suggestion.tags.iter().any(|t| t == "faq"))
            .map(|s| s.suggestion.script.as_str());
        assert_eq!(faq, Some(*want), "{page:?} {text}: {ids:?}");
        for bad in *never {
            assert!(!ids.contains(bad), "{page:?} {text}: {bad} in {ids:?}");
        }
    }
}
