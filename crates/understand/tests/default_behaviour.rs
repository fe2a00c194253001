//! The shipped default book on the families of turns detection was tuned for: negation (我不生气,
//! 一点都不急, 不用找领导), traditional characters, the urgent rule (incidents vs pre-purchase
//! questions), the style rule, and entity spans. Table-driven; every case is written here, none is
//! copied from an evaluation corpus. Skipped (passes) while the book does not load.

use std::path::Path;

use huashu_phrasebook::Style;
use huashu_understand::Understander;

fn default() -> Option<Understander> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    let book = huashu_phrasebook::load_dir(&dir).ok()?;
    if book.intents.is_empty() || book.emotions.is_empty() {
        return None;
    }
    match Understander::new(&book) {
        Ok(u) => Some(u),
        Err(e) => panic!("default book does not compile: {e}"),
    }
}

fn check<T: Copy>(cases: &[(&str, T)], f: impl Fn(&str, T) -> Option<String>) {
    let failures: Vec<String> = cases.iter().filter_map(|&(t, w)| f(t, w)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (text, emotion label). A negated emotion word is not that emotion.
const NEGATION: &[(&str, &str)] = &[
    ("我不生气，就想知道几号发货", "neutral"),
    ("一点都不急，你们慢慢弄", "neutral"),
    ("我没有生气哈，问一下进度", "neutral"),
    ("不是很急，有空帮我看下", "neutral"),
    ("我不着急的，下周到也行", "neutral"),
    ("我真的很生气", "anger"),
    ("急死了，今天能发吗", "anxiety"),
    ("不满意，跟描述的不一样", "disappointment"),
    ("这个颜色好看吗", "neutral"),
];

#[test]
fn negation_and_questions_keep_calm_turns_neutral() {
    let Some(u) = default() else { return };
    check(NEGATION, |text, label| {
        let got = u.analyze(text).emotion;
        (got.label != label).then(|| format!("{text:?}: want {label}, got {got:?}"))
    });
}

/// (text, intent that must be absent). Negated complaints and escalations are not requests.
const NEGATED_INTENTS: &[(&str, &str)] = &[
    ("我不是要投诉，就是提个建议", "complaint"),
    ("我不想给差评，你们处理好就行", "complaint"),
    ("不用找领导了，你帮我弄就行", "escalation"),
    ("没去投诉，先等你们回复", "complaint"),
];

#[test]
fn negated_complaints_and_escalations_do_not_count() {
    let Some(u) = default() else { return };
    check(NEGATED_INTENTS, |text, absent| {
        let got = u.analyze(text);
        got.has_intent(absent)
            .then(|| format!("{text:?}: {absent} should be absent, got {:?}", got.intents))
    });
    assert!(!u.analyze("我不是要投诉，就是提个建议").threat);
    assert!(u.analyze("再拖我就去投诉").threat);
}

/// (text, primary intent). Traditional characters read like simplified ones.
const TRADITIONAL: &[(&str, &str)] = &[
    ("請問這件衣服是什麼材質", "product_inquiry"),
    ("我的包裹怎麼還沒到", "shipping"),
    ("退款什麼時候到賬", "return_refund"),
    ("收到的杯子碎了，質量太差", "quality_issue"),
    ("叫你們經理出來", "escalation"),
    ("謝謝，辛苦了", "thanks_closing"),
];

#[test]
fn traditional_input() {
    let Some(u) = default() else { return };
    check(TRADITIONAL, |text, primary| {
        let got = u.analyze(text);
        (got.primary_intent() != primary)
            .then(|| format!("{text:?}: want {primary}, got {:?}", got.intents))
    });
    let got = u.analyze("氣死我了！！你們太過分了");
    assert_eq!(got.emotion.label, "anger", "{got:?}");
    assert!(u.analyze("用了以後過敏，臉都腫了").urgent);
}

/// (text, emotion label): pre-purchase "what if" questions are calm; an urgent incident is never
/// merely disappointment; money that went missing is worry.
const CALM_QUESTIONS_AND_INCIDENTS: &[(&str, &str)] = &[
    ("这件毛衣洗了会不会缩水", "neutral"),
    ("保温杯能不能装碳酸饮料", "neutral"),
    ("冬天快递会不会冻坏", "neutral"),
    ("擦了这个乳液脸上起了好多红疹子，又痒又疼", "anxiety"),
    ("付款扣了钱，订单却没生成，钱跑哪去了", "anxiety"),
];

#[test]
fn calm_questions_and_incidents() {
    let Some(u) = default() else { return };
    check(CALM_QUESTIONS_AND_INCIDENTS, |text, label| {
        let got = u.analyze(text);
        (got.emotion.label != label)
            .then(|| format!("{text:?}: want {label}, got {:?}", got.emotion))
    });
}

/// (text, urgent): incidents are urgent, pre-purchase questions and benign uses are not.
const URGENT: &[(&str, bool)] = &[
    ("宝宝把瓶盖上的小珠子吞进去了", true),
    ("抹了你们的乳液，脸上起红疹子了", true),
    ("插座用着用着冒烟了", true),
    ("热水壶外壳摸着电了一下", true),
    ("椅子突然散架，我爸摔倒在地上", true),
    ("暖宝宝漏液，手上烫起泡了", true),
    ("孩子吃果冻噎住了", true),
    ("卡里被连扣了三笔，不是我操作的", true),
    ("电动车电池充着充着炸了", true),
    ("吃了你们家的肉干上吐下泻", true),
    ("家里一股煤气味，刚装的灶", true),
    ("这个热水袋会不会漏电啊", false),
    ("敏感肌用了会过敏吗", false),
    ("这款是防过敏的吗", false),
    ("这款卖爆了吧，还有货吗", false),
    ("手机壳防摔吗", false),
    ("没有过敏，就是味道有点大", false),
    ("快递什么时候到", false),
    // 用/吃了之后的身体反应、就医、人被卡住
    ("涂了这个药膏手背全是疹子", true),
    ("擦完爽肤水整张脸又红又痒", true),
    ("用完这款洗发水头皮溃烂了", true),
    ("女儿喝了这个米粉一直吐", true),
    ("孩子吃了你们的饼干又吐又拉", true),
    ("吃了你们的鸡爪，全家都在医院打点滴", true),
    ("这袋肉松好像坏了，吃完胃疼得直不起腰", true),
    ("宝宝不小心把干燥剂吃了", true),
    ("儿子的手卡在玩具车的缝里拔不出来", true),
    ("孩子的手指被柜门夹住了，肿得很厉害", true),
    ("宝宝的头卡在护栏中间了", true),
    // 担心/假设、物件卡住、否定、普通食用
    ("孩子吃了会不会拉肚子", false),
    ("零件这么小，怕孩子吞下去", false),
    ("担心宝宝放嘴里，有大颗的吗", false),
    ("万一孩子误食了怎么办", false),
    ("担心宝宝用了会起红疹，先买小样", false),
    ("杯子防烫吗", false),
    ("过敏体质能用吗", false),
    ("这个卡扣卡住了打不开", false),
    ("门把手卡住了转不动", false),
    ("宝宝吃了很喜欢，还会回购", false),
    ("用了两天脸上没有过敏", false),
    ("涂了以后不刺痛，很温和", false),
    ("味道好恶心，太难吃了", false),
];

#[test]
fn urgent_incidents_jump_the_queue() {
    let Some(u) = default() else { return };
    check(URGENT, |text, urgent| {
        let got = u.analyze(text).urgent;
        (got != urgent).then(|| format!("{text:?}: want urgent={urgent}, got {got}"))
    });
}

/// (text, style): facts and ids are rational; exclamations and feelings are emotional.
const STYLES: &[(&str, Style)] = &[
    (
        "订单号2024010112345678，请问几个工作日能退款",
        Style::Rational,
    ),
    ("麻烦按照规则给我一个处理方案", Style::Rational),
    ("气死我了！！！你们凭什么这样😡", Style::Emotional),
    ("太失望了，真的好委屈😭", Style::Emotional),
];

#[test]
fn style_rule() {
    let Some(u) = default() else { return };
    check(STYLES, |text, style| {
        let got = u.analyze(text).style;
        (got != style).then(|| format!("{text:?}: want {style:?}, got {got:?}"))
    });
}

#[test]
fn entity_spans_cut_the_original_text() {
    let Some(u) = default() else { return };
    let text =
        "訂單２０２４０１０１１２３４５６７８，順豐SF1234567890123，电话138-1234-5678，退我¥59.9";
    let got = u.analyze(text);
    let kinds: Vec<_> = got.entities.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        ["order_id", "tracking_no", "phone", "amount"],
        "{got:?}"
    );
    for e in &got.entities {
        let cut: String = text.chars().skip(e.start).take(e.end - e.start).collect();
        assert_eq!(cut, e.text, "{e:?}");
    }
    assert_eq!(got.entities[1].carrier, Some("SF"));
    assert_eq!(got.entities[0].value(), "2024010112345678");
    assert_eq!(got.entities[2].value(), "13812345678");
}
