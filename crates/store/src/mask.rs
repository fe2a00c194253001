//! Masking personal data (phone numbers, Chinese ID numbers, e-mail addresses, postal addresses)
//! before text is stored or logged.
//!
//! Masking is **length-preserving** (each masked char becomes one `*`), so the char offsets the
//! engine reports (entity and guard spans) stay valid on the masked text: the service masks an
//! event once and sends the very same bytes live and on replay. Masking is idempotent: a `*` is
//! never part of a pattern, so masking masked text changes nothing.
//!
//! Cheap pre-checks keep the common case (no digit, no `@`, no address marker) at one scan.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Phone numbers written with separators: `138-1234-5678`, `138 1234 5678`, landlines
/// `021-12345678`. Plain 11-digit mobiles and ID numbers are found by the digit-run scanner.
static SEPARATED_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"1[3-9][0-9][- ][0-9]{4}[- ][0-9]{4}|0[0-9]{2,3}-[0-9]{7,8}").expect("static regex")
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
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

/// Returns `text` with personal data replaced by `*`, char for char.
pub fn mask(text: &str) -> Cow<'_, str> {
    let has_digit = text.bytes().any(|b| b.is_ascii_digit());
    let has_at = text.contains('@');
    let has_addr = text.contains(ADDRESS_MARKERS);
    if !has_digit && !has_at && !has_addr {
        return Cow::Borrowed(text);
    }
    // Byte ranges to mask; kept in a small vec, applied at the end.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    if has_digit {
        digit_runs(text, &mut ranges);
        for m in SEPARATED_PHONE.find_iter(text) {
            if bounded_by_non_digits(text, m.start(), m.end()) {
                // Keep the prefix (area code or first three digits) and the last four digits.
                let s = m.as_str();
                let keep_head = s.find(['-', ' ']).unwrap_or(3);
                let digits_end = m.end() - 4;
                // Separators stay readable: only the digits in between are masked.
                for i in m.start() + keep_head + 1..digits_end {
                    if text.as_bytes()[i].is_ascii_digit() {
                        ranges.push((i, i + 1));
                    }
                }
            }
        }
    }
    if has_at {
        for m in EMAIL.find_iter(text) {
            // Keep the first char of the local part and the domain.
            let at = m.as_str().find('@').unwrap_or(0);
            let first = m.as_str().chars().next().map_or(0, char::len_utf8);
            if first < at {
                ranges.push((m.start() + first, m.start() + at));
            }
        }
    }
    if has_addr {
        for m in ADDRESS.find_iter(text) {
            ranges.push((m.start(), m.end()));
        }
    }
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if ranges.iter().any(|&(s, e)| i >= s && i < e) {
            out.push('*');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Masks, in place, every string stored under a `text` key at any depth of a JSON value: the
/// turn text, entity texts, suggestion texts and guard-hit texts of an event payload. Ids
/// (`conversation`, `turn`, `script`…) are never masked, even when they look like phone numbers,
/// because clients match events by them.
pub fn mask_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_json),
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(s) if key == "text" => {
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

fn bounded_by_non_digits(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
}

/// Finds maximal runs of ASCII digits (an ID number may end in X) and masks the ones that are
/// mobile numbers (11 digits, 1[3-9]…: keep 3 + 4) or valid 18-char ID numbers (birth date and
/// ISO 7064 check digit verified, so 18-digit order numbers are left alone: keep 3 + 4).
fn digit_runs(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let mut end = i;
        if end - start == 17 && i < bytes.len() && (bytes[i] == b'X' || bytes[i] == b'x') {
            end += 1;
            i += 1;
        }
        let run = &bytes[start..end];
        match run.len() {
            11 if run[0] == b'1' && (b'3'..=b'9').contains(&run[1]) => {
                ranges.push((start + 3, start + 7))
            }
            18 if is_id_number(run) => ranges.push((start + 3, start + 14)),
            _ => {}
        }
    }
}

fn is_id_number(run: &[u8]) -> bool {
    let d = |i: usize| u32::from(run[i] - b'0');
    let year = d(6) * 1000 + d(7) * 100 + d(8) * 10 + d(9);
    let month = d(10) * 10 + d(11);
    let day = d(12) * 10 + d(13);
    if !(1900..=2099).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = (0..17).map(|i| d(i) * WEIGHTS[i]).sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    run[17].to_ascii_uppercase() == check
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
            "entities":[{"text":"13812345678","start":0}]});
        mask_json(&mut v);
        assert_eq!(v["text"], "138****5678");
        assert_eq!(v["entities"][0]["text"], "138****5678");
        assert_eq!(v["entities"][0]["start"], 0);
        assert_eq!(v["conversation"], "13812345678", "ids are not masked");
    }
}
