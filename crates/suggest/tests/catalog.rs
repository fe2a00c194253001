//! Product knowledge: a turn (or the conversation so far) that names a catalogue product or a
//! category gets that product's FAQ first, then its category's, and never an answer written for
//! another category or another product. Table: conversation × catalogue → expected FAQ entry.

use huashu_phrasebook::{Phrasebook, Style, parse_str};
use huashu_suggest::{ConversationState, PRODUCT_SLOT, Suggester};
use huashu_understand::{Emotion, IntentScore, Understanding};

const BOOK: &str = r#"
[book]
name = "catalog-test"
[slots]
"称呼" = "亲"
"商品" = ""

[[script]]
id = "product.generic"
intent = "product_inquiry"
stage = "solve"
text = "{称呼}，我帮您看一下。"

[[script]]
id = "product.fabric"
intent = "product_inquiry"
stage = "solve"
tags = ["solution", "服装鞋包"]
text = "{称呼}，这款面料亲肤透气。"

[[script]]
id = "product.named"
intent = "product_inquiry"
stage = "solve"
text = "{称呼}，关于{商品}我来为您介绍。"
"#;

const FAQ: &str = r#"
[[faq]]
id = "faq.ship"
questions = ["多久发货", "什么时候发货"]
answer = "48小时内发货。"
categories = ["all"]

[[faq]]
id = "faq.wash_clothes"
questions = ["可以机洗吗", "能用洗衣机洗吗", "怎么洗"]
answer = "冷水手洗或轻柔机洗。"
categories = ["服装鞋包"]

[[faq]]
id = "faq.dishwasher"
questions = ["可以用洗碗机洗吗", "能进洗碗机吗", "怎么洗"]
answer = "大部分陶瓷和玻璃餐具可以用洗碗机。"
categories = ["家居餐具"]

[[faq]]
id = "faq.toy_age"
questions = ["几岁可以玩", "适合多大的孩子"]
answer = "请看包装上的适用年龄。"
categories = ["母婴玩具"]

[[faq]]
id = "faq.skin_test"
questions = ["敏感肌能用吗", "会过敏吗"]
answer = "建议先在耳后试用。"
categories = ["美妆个护"]
"#;

const CATALOG: &str = r#"
[[product]]
sku = "mug"
title = "手绘陶瓷马克杯"
aliases = ["马克杯", "陶瓷杯"]
category = "家居餐具"
[[product.faq]]
id = "dishwasher"
questions = ["可以用洗碗机洗吗", "能进洗碗机吗"]
answer = "这款手绘杯可以放洗碗机，描金款请手洗。"
[[product.faq]]
id = "microwave"
questions = ["能放微波炉吗"]
answer = "这款杯子可以进微波炉。"

[[product]]
sku = "bowl"
title = "描金汤碗"
aliases = ["汤碗"]
category = "家居餐具"
[[product.faq]]
id = "dishwasher"
questions = ["可以用洗碗机洗吗"]
answer = "描金汤碗请手洗。"

[[product]]
sku = "case"
title = "磨砂手机壳"
aliases = ["手机壳"]
category = "数码家电"

[[product]]
sku = "blocks"
title = "大颗粒积木"
aliases = ["积木"]
category = "母婴玩具"

[[product]]
sku = "tee"
title = "纯棉T恤"
aliases = ["t恤", "短袖"]
category = "服装鞋包"

[[category]]
id = "家居餐具"
words = ["杯子", "碗", "盘子"]

[[category]]
id = "服装鞋包"
words = ["衣服", "裤子"]

[[category]]
id = "美妆个护"
words = ["面霜", "精华"]
"#;

fn book(with_catalog: bool) -> Phrasebook {
    let mut files = vec![("book.toml", BOOK), ("faq.toml", FAQ)];
    if with_catalog {
        files.push(("catalog.toml", CATALOG));
    }
    parse_str(&files).unwrap_or_else(|e| panic!("test book: {e}"))
}

fn inquiry() -> Understanding {
    Understanding {
        intents: vec![IntentScore {
            id: "product_inquiry",
            score: 0.9,
        }],
        emotion: Emotion {
            label: "neutral",
            intensity: 0.0,
        },
        urgent: false,
        urgent_kind: None,
        style: Style::Rational,
        entities: Vec::new(),
        threat: false,
        repeat_ask: false,
        confident: true,
    }
}

struct Case {
    name: &'static str,
    catalog: bool,
    /// Product page the integrator reported before the turns (`set_product`).
    page: Option<&'static str>,
    turns: &'static [&'static str],
    /// The FAQ entry leading the FAQ answers of the last turn (None: no FAQ answer).
    want: Option<&'static str>,
    /// FAQ entries that must not be suggested at the last turn.
    never: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "traditional mug question → the mug's own answer",
        catalog: true,
        page: None,
        turns: &["這個馬克杯可以用洗碗機洗嗎"],
        want: Some("mug.dishwasher"),
        never: &["faq.wash_clothes", "bowl.dishwasher"],
    },
    Case {
        name: "a category word only → the category answer",
        catalog: true,
        page: None,
        turns: &["这个杯子可以用洗碗机洗吗"],
        want: Some("faq.dishwasher"),
        never: &["faq.wash_clothes", "mug.dishwasher", "bowl.dishwasher"],
    },
    Case {
        name: "the product named earlier in the conversation still counts",
        catalog: true,
        page: None,
        turns: &["你好，我想问下马克杯", "能放微波炉吗"],
        want: Some("mug.microwave"),
        never: &[],
    },
    Case {
        name: "a category word about the known product keeps the product",
        catalog: true,
        page: None,
        turns: &["陶瓷杯还有货吗", "这个杯子可以用洗碗机洗吗"],
        want: Some("mug.dishwasher"),
        never: &["bowl.dishwasher", "faq.wash_clothes"],
    },
    Case {
        name: "another product named later wins",
        catalog: true,
        page: None,
        turns: &["马克杯不错", "那汤碗可以用洗碗机洗吗"],
        want: Some("bowl.dishwasher"),
        never: &["mug.dishwasher"],
    },
    Case {
        name: "the product page the chat came from",
        catalog: true,
        page: Some("mug"),
        turns: &["可以用洗碗机洗吗"],
        want: Some("mug.dishwasher"),
        never: &["bowl.dishwasher", "faq.wash_clothes"],
    },
    Case {
        name: "clothes → the clothing washing answer",
        catalog: true,
        page: None,
        turns: &["短袖怎么洗"],
        want: Some("faq.wash_clothes"),
        never: &["faq.dishwasher"],
    },
    Case {
        name: "a toy: washing answers of other categories are dropped",
        catalog: true,
        page: None,
        turns: &["积木怎么洗"],
        want: None,
        never: &["faq.wash_clothes", "faq.dishwasher"],
    },
    Case {
        name: "toy age question",
        catalog: true,
        page: None,
        turns: &["积木适合多大的孩子玩"],
        want: Some("faq.toy_age"),
        never: &[],
    },
    Case {
        name: "general answers fit every product",
        catalog: true,
        page: None,
        turns: &["手机壳多久发货"],
        want: Some("faq.ship"),
        never: &[],
    },
    Case {
        name: "a category named without a product (面霜)",
        catalog: true,
        page: None,
        turns: &["这个面霜敏感肌能用吗"],
        want: Some("faq.skin_test"),
        never: &[],
    },
    Case {
        name: "an unknown page sku is ignored",
        catalog: true,
        page: Some("no-such-sku"),
        turns: &["可以用洗碗机洗吗"],
        want: Some("faq.dishwasher"),
        never: &["mug.dishwasher", "bowl.dishwasher"],
    },
    Case {
        name: "without a catalogue the category answer still matches the words",
        catalog: false,
        page: None,
        turns: &["可以用洗碗机洗吗"],
        want: Some("faq.dishwasher"),
        never: &[],
    },
];

#[test]
fn product_questions_get_the_fitting_faq_entry() {
    let with = Suggester::new(&book(true)).unwrap_or_else(|e| panic!("compile: {e}"));
    let without = Suggester::new(&book(false)).unwrap_or_else(|e| panic!("compile: {e}"));
    for case in CASES {
        let s = if case.catalog { &with } else { &without };
        let mut st = ConversationState::new();
        st.set_product(case.page);
        let u = inquiry();
        let mut out = Vec::new();
        for turn in case.turns {
            st.observe_customer(&u, None);
            out = s.suggest(&u, turn, &mut st);
        }
        let faq: Vec<&str> = out
            .iter()
            .filter(|s| s.tags.iter().any(|t| t == "faq"))
            .map(|s| s.script.as_str())
            .collect();
        assert_eq!(faq.first().copied(), case.want, "{}: {faq:?}", case.name);
        for bad in case.never {
            assert!(
                !faq.contains(bad),
                "{}: {bad} suggested: {faq:?}",
                case.name
            );
        }
    }
}

#[test]
fn category_tagged_scripts_only_fit_their_category() {
    let s = Suggester::new(&book(true)).unwrap_or_else(|e| panic!("compile: {e}"));
    const CASES: &[(&str, bool)] = &[
        ("这件衣服是什么面料", true),
        ("这个马克杯是什么材质", false),
        ("这个是什么材质", true),
    ];
    for (turn, fabric) in CASES {
        let mut st = ConversationState::new();
        let u = inquiry();
        st.observe_customer(&u, None);
        let out = s.suggest(&u, turn, &mut st);
        let ids: Vec<&str> = out.iter().map(|s| s.script.as_str()).collect();
        assert_eq!(ids.contains(&"product.fabric"), *fabric, "{turn}: {ids:?}");
    }
}

#[test]
fn the_product_slot_holds_the_title_of_the_product_asked_about() {
    let s = Suggester::new(&book(true)).unwrap_or_else(|e| panic!("compile: {e}"));
    let mut st = ConversationState::new();
    let u = inquiry();
    st.observe_customer(&u, None);
    let out = s.suggest(&u, "这个杯子怎么样", &mut st);
    assert!(out.iter().all(|s| s.script != "product.named"), "{out:?}");
    assert_eq!(st.slots.get(PRODUCT_SLOT), None);
    st.observe_customer(&u, None);
    let out = s.suggest(&u, "马克杯怎么样", &mut st);
    assert_eq!(st.product(), Some("mug"));
    let named = out
        .iter()
        .find(|s| s.script == "product.named")
        .unwrap_or_else(|| panic!("no product.named in {out:?}"));
    assert_eq!(named.text, "亲，关于手绘陶瓷马克杯我来为您介绍。");
}
