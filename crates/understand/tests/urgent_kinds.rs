//! Urgent kinds on the shipped default book: per kind, several incident turns that must carry
//! that kind (first turns and the later turns of an incident that still name it), and the
//! look-alikes that must stay non-urgent (a product that runs hot, a burnt-out board, feature
//! questions, hypotheticals, negations). Every line is written here, none copied from a corpus.

use std::path::Path;

use huashu_phrasebook::UrgentKind::{self, *};
use huashu_understand::Understander;

fn default() -> Understander {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    let book = huashu_phrasebook::load_dir(&dir).expect("default book loads");
    Understander::new(&book).expect("default book compiles")
}

/// (text, expected kind or None for non-urgent).
const CASES: &[(&str, Option<UrgentKind>)] = &[
    // swallow_choke
    ("孩子把玩具上的小珠子吞下去了", Some(SwallowChoke)),
    ("宝宝刚才误吞了一颗纽扣电池", Some(SwallowChoke)),
    ("我儿子吃果冻噎住了，脸都憋红了", Some(SwallowChoke)),
    ("女儿把磁珠咽下去了，现在在去医院的路上", Some(SwallowChoke)),
    ("小孩卡在喉咙里了，吐不出来", Some(SwallowChoke)),
    // allergy
    ("用了你们的面霜，脸上全是红疹", Some(Allergy)),
    ("戴了这条项链脖子红肿发痒", Some(Allergy)),
    ("洗完头头皮又红又痒，是不是过敏了", Some(Allergy)),
    ("涂完身体乳全身起疙瘩", Some(Allergy)),
    // burn
    ("热水袋破了，孩子腿被烫伤了", Some(Burn)),
    ("杯盖没盖紧，开水洒到手上了，起了泡", Some(Burn)),
    ("用这个卷发棒把脖子烫起泡了", Some(Burn)),
    ("电饭锅的蒸汽把手烫红了一大片", Some(Burn)),
    // electric
    ("热水壶底座漏电，我被电了一下", Some(Electric)),
    ("摸吹风机的时候手被电麻了", Some(Electric)),
    ("插上电源后机身外壳带电，触电了", Some(Electric)),
    // fire
    ("充电宝充着充着鼓包冒烟了", Some(Fire)),
    ("插线板冒火花，还有焦味", Some(Fire)),
    ("电动车电池在楼道里起火了", Some(Fire)),
    ("暖手宝充电时炸开了", Some(Fire)),
    // gas
    ("刚装的燃气灶，家里一股煤气味", Some(Gas)),
    ("软管接口好像漏气，闻到燃气的味道", Some(Gas)),
    ("你们装的热水器燃气泄漏了", Some(Gas)),
    // food
    ("吃了你们的牛肉干，全家上吐下泻", Some(Food)),
    ("面包里吃出玻璃碴，嘴里还有渣", Some(Food)),
    ("喝了这箱牛奶以后肚子疼得厉害，一直拉肚子", Some(Food)),
    ("饼干吃出钉子了，差点咽下去", Some(SwallowChoke)),
    ("吃了才发现已经发霉了，现在有点恶心想吐", Some(Food)),
    // injury
    ("椅子腿断了，我爸摔倒在地上起不来", Some(Injury)),
    ("玻璃杯倒热水直接炸了，手被划了个口子", Some(Injury)),
    ("刀片没装好，把手指割伤了，流了好多血", Some(Injury)),
    ("柜门掉下来砸到孩子的头了", Some(Injury)),
    // pet
    ("我家狗把你们的玩具零件吞了", Some(Pet)),
    ("猫吃了这个猫粮以后一直吐，没精神", Some(Pet)),
    ("狗狗舔了消毒液，现在口吐白沫", Some(Pet)),
    // other: serious loss, unexplained medical
    ("有个自称你们客服的人让我转账，钱被转走了", Some(Other)),
    ("我妈用了这个按摩仪突然晕倒了", Some(Other)),
    // later turns of an incident: urgent only when they still name it
    ("现在孩子一直咳嗽，怎么办", None),
    ("医生说要观察，你们怎么处理", None),
    // look-alikes: product failures, feature questions, hypotheticals, negations
    ("笔记本玩一会儿就发烫，正常吗", None),
    ("手机充电的时候有点发热", None),
    ("电脑主板烧了，开不了机", None),
    ("遇到紧急情况呢 有停车监控吗", None),
    ("这个热水壶会不会漏电", None),
    ("万一孩子误吞了怎么办，零件大吗", None),
    ("敏感肌用了会不会过敏", None),
    ("这款是防烫的吗，小孩能用吗", None),
    ("有燃气款的热水器吗", None),
    ("游泳圈漏气了，能换一个吗", None),
    ("这个杯子能装开水吗", None),
    ("猫很喜欢吃，还会回购", None),
    ("狗粮什么时候发货", None),
    ("用了一周，没有过敏，挺好的", None),
    ("这款卖爆了吧，还有货吗", None),
];

#[test]
fn urgent_turns_carry_their_kind_and_look_alikes_stay_calm() {
    let u = default();
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|&(text, want)| {
            let a = u.analyze(text);
            let ok = a.urgent_kind == want && a.urgent == want.is_some();
            (!ok).then(|| format!("{text:?}: want {want:?}, got {:?}", a.urgent_kind))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_kind_has_cases() {
    for k in UrgentKind::ALL {
        let n = CASES.iter().filter(|c| c.1 == Some(k)).count();
        assert!(n >= 2, "{k}: {n} cases");
    }
}
