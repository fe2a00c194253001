//! The closed sets of a phrasebook (SPEC.md "Taxonomies (fixed ids)"): intents, script stages,
//! emotion labels, forbidden-phrase categories and script tags, as enums with their Chinese names.
//!
//! A book names them by id (`intent = "shipping"`); the loader turns every id into its enum and
//! reports an unknown one with the file and line it was written on, so code downstream matches
//! exhaustively instead of comparing strings. The id lists the rest of the workspace indexes by
//! (`INTENTS`, `STAGES`, …) are derived from the enums here: one definition per set.

use std::fmt;

use crate::model::ProductCategory;

/// Defines a closed set: the enum, its ids and Chinese names in declaration order, `parse`,
/// `Display` (the id) and serde (the id; an unknown id is a deserialisation error naming the
/// accepted ones).
macro_rules! closed_set {
    (
        $(#[$doc:meta])*
        $name:ident, $what:literal,
        $( $(#[$vdoc:meta])* $variant:ident = $id:literal, $zh:literal; )+
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )+
        }

        impl $name {
            /// Every member, in the order of the SPEC (indexes of per-member arrays).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The ids, same order as [`Self::ALL`].
            pub const IDS: &'static [&'static str] = &[$($id),+];
            /// The zh-CN names agents and QA leads read, same order as [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($zh),+];

            /// The fixed id (what books, the wire and the store use).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $id,)+ }
            }

            /// The zh-CN name.
            pub const fn name(self) -> &'static str {
                match self { $($name::$variant => $zh,)+ }
            }

            /// Position in [`Self::ALL`].
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The member with this id.
            pub fn parse(id: &str) -> Option<$name> {
                match id { $($id => Some($name::$variant),)+ _ => None }
            }

            /// "greeting (问候), …": what an error message offers instead of an unknown id.
            pub fn expected() -> String {
                Self::ALL
                    .iter()
                    .map(|m| format!("{} ({})", m.as_str(), m.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }

            /// The message for an id that is not a member.
            pub fn unknown(id: &str) -> String {
                format!(concat!("unknown ", $what, " {:?} (expected one of {})"), id, Self::expected())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom($name::unknown(&s)))
            }
        }
    };
}

closed_set! {
    /// The twelve intents of the SPEC. A book defines detection data for them; it may not invent
    /// new ids because consoles and reports key on these.
    Intent, "intent",
    Greeting = "greeting", "问候";
    ProductInquiry = "product_inquiry", "商品咨询";
    PricePromo = "price_promo", "价格优惠";
    OrderChange = "order_change", "订单操作";
    Shipping = "shipping", "物流配送";
    ReturnRefund = "return_refund", "退换退款";
    QualityIssue = "quality_issue", "质量问题";
    Complaint = "complaint", "投诉威胁";
    Escalation = "escalation", "要求升级";
    ServiceAttitude = "service_attitude", "服务态度";
    ThanksClosing = "thanks_closing", "致谢结束";
    Other = "other", "其他";
}

closed_set! {
    /// Script stages, in the order a conversation usually walks through them.
    Stage, "stage",
    Greet = "greet", "问候";
    Soothe = "soothe", "安抚";
    Clarify = "clarify", "澄清";
    Solve = "solve", "解决";
    Promote = "promote", "推荐";
    Close = "close", "结束";
    FollowUp = "follow_up", "跟进";
}

closed_set! {
    /// The five emotion labels of the SPEC.
    EmotionLabel, "emotion",
    Anger = "anger", "愤怒";
    Anxiety = "anxiety", "焦急";
    Disappointment = "disappointment", "失望";
    Neutral = "neutral", "平静";
    Positive = "positive", "满意";
}

closed_set! {
    /// Forbidden-phrase categories of the SPEC.
    RuleCategory, "category",
    Provoke = "provoke", "激化矛盾";
    BlameShift = "blame_shift", "推诿责任";
    Impatience = "impatience", "不耐烦";
    Argue = "argue", "争辩反问";
    Dismissive = "dismissive", "敷衍";
    Insult = "insult", "辱骂";
    Overpromise = "overpromise", "过度承诺";
    RudeOpening = "rude_opening", "不礼貌开场";
    CommandTone = "command_tone", "命令语气";
}

closed_set! {
    /// What a script tag tells the suggester (see `huashu-suggest`'s rank module and
    /// docs/QA.md "Script tags"). A tag that changes nothing is refused at load, so a book cannot
    /// carry decoration that looks like configuration.
    TagKind, "tag",
    /// Counts as an empathic reply: ranked up for emotional customers and in the apologise
    /// stage of a complaint, down once a solution is due.
    Empathy = "empathy", "共情";
    /// An apology: first in the apologise stage of a complaint, ranked down after it.
    Apology = "apology", "致歉";
    /// Offers a solution: ranked up for rational customers and in the solution stage.
    Solution = "solution", "方案";
    /// A safety reply: a candidate for urgent turns, ranked first on them.
    Safety = "safety", "安全";
    /// Hands over to a supervisor: offered when the customer asks for one or escalation risk
    /// is high.
    Escalation = "escalation", "升级";
    /// A fallback that fits any intent (offered when nothing specific fits).
    Generic = "generic", "通用";
    /// States facts looked up for this conversation (order status): ranked above generic
    /// wording on the same subject.
    Data = "data", "查询数据";
    /// Offers compensation: never offered in safety mode.
    Compensation = "compensation", "补偿";
    /// Asks the customer to keep using the product: never offered in safety mode.
    KeepUsing = "keep_using", "继续使用";
    /// Offers a coupon: never offered in safety mode.
    Coupon = "coupon", "优惠券";
    /// Promotes a product or an offer: never offered in safety mode.
    Promotion = "promotion", "促销";
    /// Asks for a review: never offered in safety mode.
    ReviewRequest = "review_request", "邀评";
}

impl TagKind {
    /// Tags whose scripts are never suggested while a conversation is in safety mode.
    pub const fn unsafe_in_safety(self) -> bool {
        match self {
            TagKind::Compensation
            | TagKind::KeepUsing
            | TagKind::Coupon
            | TagKind::Promotion
            | TagKind::ReviewRequest => true,
            TagKind::Empathy
            | TagKind::Apology
            | TagKind::Solution
            | TagKind::Safety
            | TagKind::Escalation
            | TagKind::Generic
            | TagKind::Data => false,
        }
    }
}

/// Tags earlier books carried that change nothing, and why each is refused (a stage already
/// says where a script sits; `info` was never read).
pub const REFUSED_TAGS: &[(&str, &str)] = &[
    (
        "info",
        "tag \"info\" changes nothing (a script that informs needs no tag); remove it",
    ),
    (
        "greet",
        "tag \"greet\" changes nothing: stage = \"greet\" says it; remove the tag",
    ),
    (
        "promote",
        "tag \"promote\" changes nothing: stage = \"promote\" says it (tag \"promotion\" keeps a script out of safety mode); remove the tag",
    ),
    (
        "close",
        "tag \"close\" changes nothing: stage = \"close\" says it; remove the tag",
    ),
    (
        "follow_up",
        "tag \"follow_up\" changes nothing: stage = \"follow_up\" says it; remove the tag",
    ),
];

/// One tag of a script: a behaviour ([`TagKind`]) or a product category the script is limited
/// to (`tags = ["solution", "服装鞋包"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tag {
    Kind(TagKind),
    /// Only for conversations about this category (or about no known one).
    Category(ProductCategory),
}

impl Tag {
    /// The tag as written in books and sent to consoles: the id of a kind, the Chinese name of
    /// a category.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Kind(k) => k.as_str(),
            Tag::Category(c) => c.name(),
        }
    }

    /// The zh-CN name.
    pub fn name(self) -> &'static str {
        match self {
            Tag::Kind(k) => k.name(),
            Tag::Category(c) => c.name(),
        }
    }

    /// A kind id, or a product category's id or Chinese name.
    pub fn parse(s: &str) -> Option<Tag> {
        TagKind::parse(s)
            .map(Tag::Kind)
            .or_else(|| ProductCategory::parse(s).map(Tag::Category))
    }

    /// Why `s` is not a tag: the specific reason for a retired one, else the accepted set.
    pub fn unknown(s: &str) -> String {
        if let Some((_, why)) = REFUSED_TAGS.iter().find(|(t, _)| *t == s) {
            return (*why).to_string();
        }
        let categories: Vec<&str> = ProductCategory::ALL.iter().map(|c| c.name()).collect();
        format!(
            "unknown tag {s:?} (expected one of {}, or a product category: {})",
            TagKind::expected(),
            categories.join(", ")
        )
    }

    pub fn kind(self) -> Option<TagKind> {
        match self {
            Tag::Kind(k) => Some(k),
            Tag::Category(_) => None,
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Tag::parse(&s).ok_or_else(|| serde::de::Error::custom(Tag::unknown(&s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_their_index() {
        for (i, m) in Intent::ALL.iter().enumerate() {
            assert_eq!(m.index(), i);
            assert_eq!(Intent::parse(m.as_str()), Some(*m));
            assert_eq!(Intent::NAMES[i], m.name());
        }
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(*s));
        }
        for e in EmotionLabel::ALL {
            assert_eq!(EmotionLabel::parse(e.as_str()), Some(*e));
        }
        for c in RuleCategory::ALL {
            assert_eq!(RuleCategory::parse(c.as_str()), Some(*c));
        }
        for k in TagKind::ALL {
            assert_eq!(Tag::parse(k.as_str()), Some(Tag::Kind(*k)));
        }
        for c in ProductCategory::ALL {
            assert_eq!(Tag::parse(c.name()), Some(Tag::Category(c)));
        }
    }

    #[test]
    fn retired_tags_are_refused_with_their_reason() {
        for (t, why) in REFUSED_TAGS {
            assert_eq!(Tag::parse(t), None, "{t}");
            assert_eq!(Tag::unknown(t), *why);
        }
        assert!(Tag::unknown("vip").contains("expected one of empathy (共情)"));
    }

    #[test]
    fn serde_refuses_unknown_ids() {
        #[derive(serde::Deserialize)]
        struct S {
            #[allow(dead_code)]
            intent: Intent,
        }
        let err = toml::from_str::<S>("intent = \"refund\"\n")
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("unknown intent \"refund\"")),
            "{err:?}"
        );
        let ok: Result<S, _> = toml::from_str("intent = \"return_refund\"\n");
        assert!(ok.is_ok());
    }
}
