//! Masking personal data before text is stored, pushed or logged: THE one masker of the
//! service. Every free-text field of a stored or pushed frame goes through `mask` (directly, or
//! through `mask_json` for event payloads), so a variant caught here is caught everywhere.
//!
//! What is masked: mobile numbers in every common spelling (`13812345678`, `+86 138…`,
//! `0086…`, `138-1234-5678`, `138.1234.5678`, `138 1234 5678`, full-width digits,
//! Chinese-numeral digits `一三八…`/`幺三八…`), landlines with an area code (`(010)12345678`,
//! `021-12345678`), anything shaped like an 18-character ID number (region, plausible birth
//! date, check character; the check digit is *not* verified, a mistyped ID is still an ID),
//! e-mail addresses (internationalised too: `张三@例子.中国`), QQ numbers after a QQ marker,
//! postal addresses (a chain of administrative units, a street with a house number), and in
//! JSON the spans of entities whose kind is personal (phone, name, address, …).
//!
//! What is not: order numbers and tracking numbers (SF/JD/ZTO/YTO/… codes, 12–20 digit runs):
//! a digit block is only masked when the whole block (or the blocks joined by separators) has
//! a phone or ID shape, never a window inside a longer number, and never when glued to letters.
//!
//! Masking is **length-preserving** (each masked char becomes one `*`), so the char offsets the
//! engine reports (entity and guard spans) stay valid on the masked text: the service masks an
//! event once and sends the very same bytes live and on replay. Masking is idempotent: a `*` is
//! never part of a pattern, so masking masked text changes nothing.
//!
//! Cheap pre-checks keep the common case (no digit of any kind, no `@`, no address marker) at
//! one scan.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Landlines: an area code (0 + 2–3 digits) in brackets or before a separator, then 7–8
/// digits. Runs on the folded text (ASCII digits and brackets).
static LANDLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\(0[0-9]{2,3}\)[ -]?[0-9]{7,8}|0[0-9]{2,3}[- ][0-9]{7,8}").expect("static regex")
});

/// QQ numbers: 5–11 digits after a QQ marker.
static QQ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:qq|扣扣|企鹅)\s*(?:号码|号)?\s*[:：]?\s*([0-9]{5,11})")
        .expect("static regex")
});

/// E-mail addresses, internationalised local parts and domains included.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}")
        .expect("static regex")
});

/// Addresses: a chain of at least two administrative units (广东省深圳市, 上海市浦东新区), or a
/// street with a house number (张江路88号, 幸福小区3栋2单元), optionally preceded by admin
/// units. Place names exclude common function characters so "我的地址是上海市…" masks only the
/// address, not the words before it.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    const N: &str = r"[\p{Han}&&[^的是在我您你址地送到寄改为成收货人电话号码和及与或从往去来住这那里就要请帮把给了吗呢吧啊呀哦个一]]";
    const NUM: &str = r"[0-9一二三四五六七八九十百零〇]";
    let admin = format!(r"(?:{N}{{2,5}}?(?:省|自治区|市|区|县|镇|乡))");
    let street = format!(
        r"(?:{N}{{1,8}}?(?:路|街|大道|巷|弄|胡同|小区|花园|新村|公寓)){NUM}+(?:号|弄|栋|幢|号楼)"
    );
    let tail = format!(r"(?:[-－]?{NUM}+(?:号楼|号|栋|幢|单元|楼|层|室))*");
    Regex::new(&format!(r"{admin}*{street}{tail}|{admin}{{2,}}")).expect("static regex")
});

/// Address markers: no marker, no address scan.
const ADDRESS_MARKERS: &[char] = &[
    '省', '市', '区', '县', '镇', '乡', '路', '街', '巷', '弄', '号', '栋', '幢',
];

/// Entity kinds whose text is personal data the patterns above may not recognise (a name):
/// their spans are masked whole in JSON payloads (`mask_json`). Phone numbers are not listed:
/// the pattern masker catches every spelling the engine extracts and keeps the 3 + 4 digits
/// agents use to tell numbers apart.
const PERSONAL_KINDS: &[&str] = &[
    "name",
    "person",
    "address",
    "id_number",
    "id_card",
    "email",
    "qq",
    "wechat",
    "landline",
];

/// Keys whose strings are identifiers or closed-set values, never masked (clients match events
/// by them, and an id may look like a phone number).
const ID_KEYS: &[&str] = &[
    "type",
    "conversation",
    "turn",
    "id",
    "draft",
    "suggestion",
    "script",
    "rule",
    "agent",
    "shop",
    "hash",
    "book",
    "kind",
    "carrier",
    "intent",
    "emotion",
    "label",
    "stage",
    "style",
    "category",
    "severity",
    "urgent_kind",
    "level",
    "action",
    "role",
    "sla",
    "product",
];

/// The digit a char stands for: ASCII, full-width, or a Chinese numeral as read out in phone
/// numbers (幺 = 1).
fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => u8::try_from(u32::from(c) - u32::from('０')).ok(),
        '〇' | '零' => Some(0),
        '一' | '幺' => Some(1),
        '二' => Some(2),
        '三' => Some(3),
        '四' => Some(4),
        '五' => Some(5),
        '六' => Some(6),
        '七' => Some(7),
        '八' => Some(8),
        '九' => Some(9),
        _ => None,
    }
}

/// Chars allowed between the digit groups of one number.
fn separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '·' | '_' | '\u{3000}' | '－' | '．' | '—' | '\u{a0}'
    )
}

/// One char of the folded view: digits of every form as ASCII, full-width brackets, `@`,
/// colon and hyphen as ASCII, anything else itself (one char for one char).
fn fold(c: char) -> char {
    match digit(c) {
        Some(d) => char::from(b'0' + d),
        None => match c {
            '（' => '(',
            '）' => ')',
            '＠' => '@',
            '：' => ':',
            '－' => '-',
            _ => c,
        },
    }
}

/// A maximal run of digit chars (char indices), with an ID's trailing X.
#[derive(Debug)]
struct Block {
    start: usize,
    end: usize,
    digits: Vec<(usize, u8)>,
    /// The ID check character `X`/`x` (value 10), when it ends a 17-digit block.
    check_x: bool,
}

/// Returns `text` with personal data replaced by `*`, char for char.
pub fn mask(text: &str) -> Cow<'_, str> {
    let has_digit = text.chars().any(|c| digit(c).is_some());
    let has_at = text.contains(['@', '＠']);
    let has_addr = text.contains(ADDRESS_MARKERS);
    if !has_digit && !has_at && !has_addr {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let folded: String = chars.iter().map(|&c| fold(c)).collect();
    // Byte offset in `folded` → char index (both views have one char per original char).
    let char_at = |byte: usize| folded[..byte].chars().count();
    let mut hide = vec![false; chars.len()];
    if has_digit {
        numbers(&chars, &mut hide);
        for m in LANDLINE.find_iter(&folded) {
            if bounded_by_non_digits(&folded, m.start(), m.end()) {
                // Keep the area code and the last four digits.
                let s = m.as_str();
                let local = s.rfind([')', '-', ' ']).map_or(0, |i| i + 1);
                let (a, b) = (char_at(m.start() + local), char_at(m.end()));
                hide[a..b.saturating_sub(4)]
                    .iter_mut()
                    .for_each(|h| *h = true);
            }
        }
        for c in QQ.captures_iter(&folded) {
            if let Some(n) = c.get(1)
                && bounded_by_non_digits(&folded, n.start(), n.end())
            {
                let (a, b) = (char_at(n.start()), char_at(n.end()));
                hide[a..b].iter_mut().for_each(|h| *h = true);
            }
        }
    }
    if has_at {
        for m in EMAIL.find_iter(&folded) {
            // Keep the first char of the local part and the domain.
            let at = m.as_str().find('@').unwrap_or(0);
            let (a, b) = (char_at(m.start()), char_at(m.start() + at));
            if a + 1 < b {
                hide[a + 1..b].iter_mut().for_each(|h| *h = true);
            }
        }
    }
    if has_addr {
        // On the original text: place names may hold numeral characters (三里屯).
        let char_at = |byte: usize| text[..byte].chars().count();
        for m in ADDRESS.find_iter(text) {
            let (a, b) = (char_at(m.start()), char_at(m.end()));
            hide[a..b].iter_mut().for_each(|h| *h = true);
        }
    }
    if !hide.iter().any(|&h| h) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        chars
            .iter()
            .zip(&hide)
            .map(|(&c, &h)| if h { '*' } else { c })
            .collect(),
    )
}

/// Finds phone and ID numbers among the digit blocks of `chars` and marks what to hide:
/// mobiles keep their first three and last four digits, IDs their first three and last four.
fn numbers(chars: &[char], hide: &mut [bool]) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i]).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        while i < chars.len()
            && let Some(d) = digit(chars[i])
        {
            digits.push((i, d));
            i += 1;
        }
        let check_x = digits.len() == 17 && i < chars.len() && matches!(chars[i], 'X' | 'x');
        if check_x {
            i += 1;
        }
        blocks.push(Block {
            start,
            end: i,
            digits,
            check_x,
        });
    }
    // Two blocks are one number when only 1–2 separators stand between them.
    let linked = |a: &Block, b: &Block| {
        let gap = &chars[a.end..b.start];
        !a.check_x && (1..=2).contains(&gap.len()) && gap.iter().all(|&c| separator(c))
    };
    let glued_letter = |at: Option<&char>| at.is_some_and(|c| c.is_ascii_alphabetic());
    for first in 0..blocks.len() {
        // A block glued to a letter is a code (SF…, JD…, a sku), not a phone.
        if glued_letter(
            blocks[first]
                .start
                .checked_sub(1)
                .and_then(|p| chars.get(p)),
        ) {
            continue;
        }
        let mut all: Vec<(usize, u8)> = Vec::new();
        for last in first..blocks.len() {
            if last > first && !linked(&blocks[last - 1], &blocks[last]) {
                break;
            }
            all.extend_from_slice(&blocks[last].digits);
            let check_x = blocks[last].check_x;
            if all.len() > 18 {
                break;
            }
            if glued_letter(chars.get(blocks[last].end)) && !check_x {
                continue;
            }
            let ds: Vec<u8> = all.iter().map(|&(_, d)| d).collect();
            let mobile_at =
                |k: usize| ds.len() == k + 11 && ds[k] == 1 && (3..=9).contains(&ds[k + 1]);
            let hide_digits = |from: usize, to: usize, hide: &mut [bool]| {
                for &(ci, _) in &all[from..to] {
                    hide[ci] = true;
                }
            };
            let id_len = if check_x { 17 } else { 18 };
            if ds.len() == id_len && id_shaped(&ds) {
                hide_digits(3, 14, hide);
            } else if mobile_at(0) {
                hide_digits(3, 7, hide);
            } else if ds.starts_with(&[8, 6]) && mobile_at(2) {
                hide_digits(5, 9, hide);
            } else if ds.starts_with(&[0, 0, 8, 6]) && mobile_at(4) {
                hide_digits(7, 11, hide);
            }
        }
    }
}

/// The shape of an 18-character ID number (its first 17 digits): a region code, then a
/// plausible birth date. The check digit is not verified: a mistyped ID is personal data too.
fn id_shaped(d: &[u8]) -> bool {
    let n = |a: usize, b: usize| d[a..b].iter().fold(0u32, |v, &x| v * 10 + u32::from(x));
    let (year, month, day) = (n(6, 10), n(10, 12), n(12, 14));
    (1..=8).contains(&d[0])
        && (1900..=2099).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
}

/// Masks, in place, every free-text string of a JSON value at any depth: the turn text, the
/// customer name, entity, suggestion and guard-hit texts, rewrites. Strings under identifier
/// keys (`ID_KEYS`: `conversation`, `turn`, `script`…) are never masked, even when they look like
/// phone numbers, because clients match events by them. Entities of a personal kind
/// (`PERSONAL_KINDS`) are masked whole, in their own `text` and in the sibling `text` they
/// point into (`start`/`end` char offsets).
pub fn mask_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_json),
        serde_json::Value::Object(map) => {
            let spans: Vec<(usize, usize)> = map
                .get("entities")
                .and_then(|e| e.as_array())
                .map(|list| list.iter().filter_map(personal_span).collect())
                .unwrap_or_default();
            if let Some(serde_json::Value::String(s)) = map.get_mut("text")
                && !spans.is_empty()
            {
                *s = hide_spans(s, &spans);
            }
            let personal = map
                .get("kind")
                .and_then(|k| k.as_str())
                .is_some_and(|k| PERSONAL_KINDS.contains(&k));
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(s) if personal && key == "text" => {
                        *s = "*".repeat(s.chars().count());
                    }
                    serde_json::Value::String(s) if !ID_KEYS.contains(&key.as_str()) => {
                        if let Cow::Owned(masked) = mask(s) {
                            *s = masked;
                        }
                    }
                    _ => mask_json(v),
                }
            }
        }
        _ => {}
    }
}

fn personal_span(e: &serde_json::Value) -> Option<(usize, usize)> {
    let kind = e.get("kind")?.as_str()?;
    if !PERSONAL_KINDS.contains(&kind) {
        return None;
    }
    let start = usize::try_from(e.get("start")?.as_u64()?).ok()?;
    let end = usize::try_from(e.get("end")?.as_u64()?).ok()?;
    Some((start, end))
}

fn hide_spans(text: &str, spans: &[(usize, usize)]) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if spans.iter().any(|&(s, e)| i >= s && i < e) {
                '*'
            } else {
                c
            }
        })
        .collect()
}

fn bounded_by_non_digits(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &[(&str, &str)] = &[
        ("我的手机13812345678", "我的手机138****5678"),
        ("电话 138-1234-5678 谢谢", "电话 138-****-5678 谢谢"),
        ("座机021-12345678", "座机021-****5678"),
        ("身份证11010519491231002X", "身份证110***********002X"),
        ("订单号2023112245678", "订单号2023112245678"),
        ("订单号202311224567812345", "订单号202311224567812345"),
        ("单号 SF1234567890123", "单号 SF1234567890123"),
        (
            "邮箱 zhang.san@example.com 收",
            "邮箱 z********@example.com 收",
        ),
        (
            "我的地址是上海市浦东新区张江路88号",
            "我的地址是*************",
        ),
        ("寄到广东省深圳市", "寄到******"),
        ("幸福小区3栋2单元501室", "*************"),
        ("我在北京市", "我在北京市"),
        ("没有个人信息的一句话", "没有个人信息的一句话"),
        ("1381234567890", "1381234567890"),
        // The variants of the hardening review.
        ("+8613812345678", "+86138****5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("0086-13812345678", "0086-138****5678"),
        ("138.1234.5671", "138.****.5671"),
        ("１３８１２３４５６７８", "１３８****５６７８"),
        ("1 3 8 1 2 3 4 5 6 7 8", "1 3 8 * * * * 5 6 7 8"),
        ("一三八一二三四五六七八", "一三八****五六七八"),
        ("幺三八 幺二三四 五六七八", "幺三八 **** 五六七八"),
        ("(010)12345678", "(010)****5678"),
        ("（010）12345678", "（010）****5678"),
        ("0755 1234567", "0755 ***4567"),
        // ID-shaped with a wrong check digit is still an ID.
        ("110105194912310021", "110***********0021"),
        ("张三@例子.中国", "张*@例子.中国"),
        ("mail: müller@bücher.de", "mail: m*****@bücher.de"),
        ("QQ 123456789", "QQ *********"),
        ("我的qq号：98765432", "我的qq号：********"),
        // Not personal: order and tracking numbers, amounts, sizes.
        ("顺丰 SF1381234567801", "顺丰 SF1381234567801"),
        ("京东 JD0012345678901", "京东 JD0012345678901"),
        ("中通 73123456789012", "中通 73123456789012"),
        ("圆通 YT1381234567890", "圆通 YT1381234567890"),
        ("订单 13812345678901234", "订单 13812345678901234"),
        ("买了 3 件，共 138.50 元", "买了 3 件，共 138.50 元"),
        ("身高165体重55", "身高165体重55"),
        ("一二三四五", "一二三四五"),
    ];

    #[test]
    fn masks_personal_data() {
        for (input, want) in CASES {
            assert_eq!(mask(input), *want, "{input}");
            assert_eq!(mask(want), *want, "idempotent on {want}");
            assert_eq!(
                input.chars().count(),
                mask(input).chars().count(),
                "length preserved for {input}"
            );
        }
    }

    #[test]
    fn masks_json_strings() {
        let mut v = serde_json::json!({"conversation":"13812345678","text":"13812345678",
            "customer":"王 13912345678","rewritten":"您的电话13712345678已登记",
            "entities":[{"kind":"phone","text":"13812345678","start":0,"end":11}]});
        mask_json(&mut v);
        assert_eq!(v["text"], "138****5678");
        assert_eq!(v["customer"], "王 139****5678");
        assert_eq!(v["rewritten"], "您的电话137****5678已登记");
        assert_eq!(v["entities"][0]["text"], "138****5678");
        assert_eq!(v["entities"][0]["start"], 0);
        assert_eq!(v["conversation"], "13812345678", "ids are not masked");
    }

    #[test]
    fn personal_entities_are_masked_whole_in_the_text_they_point_into() {
        let mut v = serde_json::json!({"text":"我叫李雷，订单2023112245678",
            "entities":[{"kind":"name","text":"李雷","start":2,"end":4},
                        {"kind":"order_id","text":"2023112245678","start":7,"end":20}]});
        mask_json(&mut v);
        assert_eq!(v["text"], "我叫**，订单2023112245678");
        assert_eq!(v["entities"][0]["text"], "**");
        assert_eq!(v["entities"][1]["text"], "2023112245678");
    }
}
