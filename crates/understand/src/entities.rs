//! Entity extraction: order ids, tracking numbers (with carrier), phone numbers, amounts, sizes,
//! heights and weights, and the address and name a customer gives ("地址改成杭州市西湖区文三路
//! 88号", "收件人改成李四"), with char spans in the original text.
//!
//! Works on a 1:1 fold of the turn (width, case and traditional → simplified only; no noise
//! skipping, no collapsing), so ＳＦ１２３… and 訂單號 read like SF123… and 订单号 while every char
//! keeps its original offset. A hand-written scanner walks runs of ASCII letters and digits and
//! classifies each by shape and by the words around it — cheaper than a dozen regexes and able to
//! weigh context: a 12–20 digit run is a tracking number when the nearest context word before it
//! is 快递单号/运单号/物流单号 or a carrier name, an order id when it is 订单(号)/单号, and otherwise
//! a tracking number only if it has a carrier's shape (YD 43/46…, STO 77/88…, ZTO 7/5…).
//!
//! Addresses and names are personal data: the service masks them wherever it stores or pushes
//! text, and only the conversation's own agent can see the value (`reveal`). They are found by
//! two regexes that run only when the turn holds an address marker or a name cue: an address is
//! a chain of administrative units and/or a street with a house number (the shape the masker
//! knows, so what is extracted is also what is masked); a name needs a cue (我叫, 收件人改成…)
//! and a common surname, which keeps "我叫你们主管来" and "名字叫什么" out.

use std::sync::LazyLock;

use regex::Regex;

use crate::types::Entity;

/// One char of the folded text with its original char range.
pub(crate) type Ch = (char, u32, u32);

const ORDER_WORDS: &[&str] = &["订单号", "订单编号", "订单", "单号", "编号"];
const TRACKING_WORDS: &[&str] = &[
    "快递单号",
    "快递号",
    "快递单",
    "运单号",
    "运单",
    "物流单号",
    "物流号",
    "物流编号",
    "包裹号",
];
/// Carrier names as customers write them → carrier code (None: a carrier outside the list).
const CARRIERS: &[(&str, Option<&str>)] = &[
    ("顺丰", Some("SF")),
    ("中通", Some("ZTO")),
    ("圆通", Some("YTO")),
    ("韵达", Some("YD")),
    ("申通", Some("STO")),
    ("京东", Some("JD")),
    ("邮政", Some("EMS")),
    ("ems", Some("EMS")),
    ("极兔", None),
    ("百世", None),
    ("德邦", None),
];
const LETTER_SIZES: &[&str] = &[
    "xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "xxxxl", "2xl", "3xl", "4xl", "5xl",
];
/// How many chars before a number are searched for context words.
const WINDOW: usize = 16;

/// How far from a number the whole-text fallbacks look (context words, carrier names).
const CONTEXT: usize = 64;

/// Extracts entities from `chars` (the 1:1 fold of `original`) into `out`, sorted by start.
/// `bytes` is scratch for the original's char → byte offsets.
pub(crate) fn extract(original: &str, chars: &[Ch], bytes: &mut Vec<u32>, out: &mut Vec<Entity>) {
    bytes.clear();
    bytes.extend(original.char_indices().map(|(b, _)| b as u32));
    bytes.push(original.len() as u32);
    let mut s = Scanner {
        original,
        bytes,
        cs: chars,
        out,
    };
    s.run();
    s.personal();
}

/// Han chars that may be part of a place name: not the function words around an address, so
/// "我的地址改成上海市…" yields the address only.
const PLACE: &str = r"[\p{Han}&&[^的是在我您你址地送到寄改为换成收货件人电话号码和及与或从往去来住这那里就要请帮把给了吗呢吧啊呀哦个一]]";
const NUMERAL: &str = r"[0-9一二三四五六七八九十百零〇两]";

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    let admin = format!(r"(?:{PLACE}{{2,6}}?(?:省|自治区|市|区|县|镇|乡))");
    let street = format!(
        r"(?:{PLACE}{{1,10}}?(?:路|街|大道|巷|弄|胡同|小区|花园|新村|公寓|大厦)){NUMERAL}+(?:号|弄|栋|幢|号楼)"
    );
    let tail = format!(r"(?:[-]?{NUMERAL}+(?:号楼|号|栋|幢|单元|楼|层|室))*");
    Regex::new(&format!(r"{admin}*{street}{tail}|{admin}{{2,}}")).expect("static regex")
});

/// A name cue, then a surname and one or two more chars (trimmed at the words that follow a
/// name, see `name_len`).
static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:我叫|我的名字是|名字是|名字叫|姓名是?|(?:收件人|收货人|联系人)(?:是|叫|改成|改为|换成|写)?)[:：]?\s*({SURNAMES}[\p{{Han}}]{{1,3}})"
    ))
    .expect("static regex")
});

/// Common single-char surnames (a name without one is not extracted: precision over recall).
const SURNAMES: &str = "[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧]";

/// Chars that end a name: what customers write right after one (电话, 地址, 谢谢, 的, 吧…).
const AFTER_NAME: &[char] = &[
    '电', '手', '地', '住', '的', '了', '吧', '呢', '啊', '吗', '哦', '呀', '谢', '收', '改', '在',
    '是', '和', '麻', '请', '帮',
];
/// Words that end a name too (王先生 is a form of address, not a name).
const AFTER_NAME_WORDS: &[&str] = &["先生", "女士", "小姐"];

/// Chars that may start an address (`ADDRESS` needs one, so most turns skip it).
const ADDRESS_MARKERS: &[char] = &[
    '省', '市', '区', '县', '镇', '乡', '路', '街', '巷', '弄', '号', '栋', '幢',
];
const NAME_CUES: &[&str] = &["我叫", "名字", "姓名", "收件人", "收货人", "联系人"];

/// Length in chars of the name at the start of `cand` (surname included), 0 if too short.
fn name_len(cand: &str) -> usize {
    let chars: Vec<char> = cand.chars().collect();
    let n = (1..chars.len())
        .find(|&i| {
            AFTER_NAME.contains(&chars[i])
                || AFTER_NAME_WORDS
                    .iter()
                    .any(|w| chars[i..].iter().collect::<String>().starts_with(w))
        })
        .unwrap_or(chars.len());
    if (2..=3).contains(&n) { n } else { 0 }
}

struct Scanner<'a> {
    original: &'a str,
    /// Char offset → byte offset in `original` (one past the end included).
    bytes: &'a [u32],
    cs: &'a [Ch],
    out: &'a mut Vec<Entity>,
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

impl Scanner<'_> {
    fn ch(&self, i: usize) -> char {
        self.cs.get(i).map_or('\0', |c| c.0)
    }

    fn run(&mut self) {
        let n = self.cs.len();
        let mut i = 0;
        while i < n {
            let c = self.ch(i);
            if is_cn_numeral(c) && (i == 0 || !is_cn_numeral(self.ch(i - 1))) {
                i = self.chinese_amount(i);
                continue;
            }
            if !is_alnum(c) {
                i += 1;
                continue;
            }
            let fresh = i == 0 || !is_alnum(self.ch(i - 1));
            if fresh
                && c == '1'
                && let Some(j) = self.phone_at(i)
            {
                self.emit("phone", i, j, None);
                i = j;
                continue;
            }
            let mut j = i;
            while j < n {
                let d = self.ch(j);
                let dot = d == '.'
                    && j > i
                    && self.ch(j - 1).is_ascii_digit()
                    && self.ch(j + 1).is_ascii_digit();
                if is_alnum(d) || dot {
                    j += 1;
                } else {
                    break;
                }
            }
            i = self.classify(i, j).max(j);
        }
    }

    /// 三十块, 一百五十元, 两块钱 — Chinese numerals before a currency unit. A bare 块 after a
    /// lone 一 is not money (一块发 = ship together). Returns where scanning continues.
    fn chinese_amount(&mut self, i: usize) -> usize {
        let mut j = i;
        while is_cn_numeral(self.ch(j)) {
            j += 1;
        }
        let after = self.after(j, 2);
        let unit = unit_len(&after, &["块钱", "元", "块"]);
        let lone_one = j == i + 1 && self.ch(i) == '一';
        if unit == 0 || (lone_one && unit_len(&after, &["块钱", "元"]) == 0) {
            return j.max(i + 1);
        }
        self.emit("amount", i, j + unit, None);
        j + unit
    }

    /// `1[3-9]` + 9 digits, single spaces or dashes allowed between digit groups; returns the end.
    fn phone_at(&self, i: usize) -> Option<usize> {
        let mut digits = 0;
        let mut j = i;
        while digits < 11 {
            let c = self.ch(j);
            if c.is_ascii_digit() {
                if digits == 1 && !('3'..='9').contains(&c) {
                    return None;
                }
                digits += 1;
                j += 1;
            } else if matches!(c, ' ' | '-')
                && digits > 0
                && self.ch(j + 1).is_ascii_digit()
                && self.ch(j - 1).is_ascii_digit()
            {
                j += 1;
            } else {
                return None;
            }
        }
        let next = self.ch(j);
        if is_alnum(next) || (matches!(next, ' ' | '-') && self.ch(j + 1).is_ascii_digit()) {
            return None;
        }
        Some(j)
    }

    /// The folded chars `[a, b)` as a string.
    fn slice(&self, a: usize, b: usize) -> String {
        self.cs
            .get(a.min(b)..b.min(self.cs.len()))
            .unwrap_or(&[])
            .iter()
            .map(|c| c.0)
            .collect()
    }

    fn before(&self, i: usize, n: usize) -> String {
        self.slice(i.saturating_sub(n), i)
    }

    fn after(&self, j: usize, n: usize) -> String {
        self.slice(j, j + n)
    }

    /// Classifies the token `[i, j)`; returns where scanning continues.
    fn classify(&mut self, i: usize, j: usize) -> usize {
        let tok = self.slice(i, j);
        let letters = tok.bytes().filter(u8::is_ascii_alphabetic).count();
        let digits = tok.bytes().filter(u8::is_ascii_digit).count();
        let has_dot = tok.contains('.');
        let after = self.after(j, 3);
        let prev = if i > 0 { self.ch(i - 1) } else { '\0' };

        if letters > 0 && digits > 0 {
            return self.mixed(&tok, i, j, &after);
        }
        if digits == 0 {
            if self.is_size_letters(&tok, i, j, &after) {
                let end = j + usize::from(after.starts_with(['码', '号']));
                self.emit("size", i, end, None);
                return end;
            }
            return j;
        }
        // Digits only (maybe with one decimal point).
        if matches!(prev, '¥' | '￥' | '$') {
            let end = j + unit_len(&after, &["元", "块钱", "块"]);
            self.emit("amount", i - 1, end, None);
            return end;
        }
        let money = unit_len(&after, &["元", "块钱", "块", "rmb"]);
        if money > 0 {
            self.emit("amount", i, j + money, None);
            return j + money;
        }
        if has_dot {
            return self.decimal_height(&tok, i, j, &after);
        }
        if (12..=20).contains(&digits) {
            self.long_number(&tok, i, j);
            return j;
        }
        let value: u32 = tok.parse().unwrap_or(0);
        let near = self.before(i, 4);
        // 1米65, 1米7
        if tok == "1" && after.starts_with('米') {
            let k = j + 1;
            let mut e = k;
            while e < k + 2 && self.ch(e).is_ascii_digit() {
                e += 1;
            }
            if e > k && !self.ch(e).is_ascii_digit() {
                self.emit("height", i, e, None);
                return e;
            }
        }
        let height_unit = unit_len(&after, &["厘米", "公分", "cm"]);
        if (100..=230).contains(&value) && (height_unit > 0 || near.contains("身高")) {
            self.emit("height", i, j + height_unit, None);
            return j + height_unit;
        }
        let weight_unit = unit_len(&after, &["公斤", "千克", "斤", "kg"]);
        if (2..=400).contains(&value) && (weight_unit > 0 || near.contains("体重")) {
            self.emit("weight", i, j + weight_unit, None);
            return j + weight_unit;
        }
        if self.is_size_number(value, digits, i, &after, &near) {
            let end = j + usize::from(after.starts_with(['码', '号']));
            self.emit("size", i, end, None);
            return end;
        }
        j
    }

    /// 1.65米 / 1.7m → height; other decimals are not entities without a currency.
    fn decimal_height(&mut self, tok: &str, i: usize, j: usize, after: &str) -> usize {
        let v: f32 = tok.parse().unwrap_or(0.0);
        let unit = unit_len(after, &["米", "m"]);
        if (1.0..=2.3).contains(&v) && unit > 0 && !self.ch(j + unit).is_ascii_alphabetic() {
            self.emit("height", i, j + unit, None);
            return j + unit;
        }
        j
    }

    fn mixed(&mut self, tok: &str, i: usize, j: usize, after: &str) -> usize {
        let digits_after = |p: usize| tok.get(p..).is_some_and(all_digits);
        let n = tok.len();
        let carrier = if tok.starts_with("sf") && digits_after(2) && (14..=15).contains(&n) {
            Some(Some("SF"))
        } else if tok.starts_with("jd")
            && (13..=17).contains(&n)
            && tok.bytes().filter(u8::is_ascii_digit).count() >= 8
        {
            Some(Some("JD"))
        } else if tok.starts_with("yt") && digits_after(2) && (15..=17).contains(&n) {
            Some(Some("YTO"))
        } else if n == 13
            && tok.starts_with('e')
            && tok.ends_with("cn")
            && tok.get(2..11).is_some_and(all_digits)
        {
            Some(Some("EMS"))
        } else {
            None
        };
        if let Some(carrier) = carrier {
            self.emit("tracking_no", i, j, carrier);
            return j;
        }
        // Generic letter prefix + long number after a tracking word (e.g. JT… of 极兔).
        let prefix = tok.bytes().take_while(u8::is_ascii_alphabetic).count();
        if (1..=4).contains(&prefix) && digits_after(prefix) && n - prefix >= 8 {
            let before = self.before(i, WINDOW);
            if last_end(&before, TRACKING_WORDS).is_some() || carrier_in(&before).is_some() {
                self.emit("tracking_no", i, j, carrier_in(&before).flatten());
                return j;
            }
        }
        let lead = tok.bytes().take_while(u8::is_ascii_digit).count();
        let (num, unit) = tok.split_at(lead);
        let value: u32 = num.parse().unwrap_or(0);
        match unit {
            "cm" if (100..=230).contains(&value) => self.emit("height", i, j, None),
            "kg" if (2..=200).contains(&value) => self.emit("weight", i, j, None),
            "rmb" | "yuan" if value > 0 => self.emit("amount", i, j, None),
            "xl" if (2..=5).contains(&value) => {
                let end = j + usize::from(after.starts_with(['码', '号']));
                self.emit("size", i, end, None);
                return end;
            }
            _ => {
                // 1m65
                if num == "1"
                    && unit.starts_with('m')
                    && unit.len() <= 3
                    && unit.get(1..).is_some_and(all_digits)
                    && unit.len() > 1
                {
                    self.emit("height", i, j, None);
                }
            }
        }
        j
    }

    fn is_size_letters(&self, tok: &str, i: usize, j: usize, after: &str) -> bool {
        if !LETTER_SIZES.contains(&tok) {
            return false;
        }
        if tok.len() > 1 {
            return true;
        }
        // A lone S/M/L: only when written upper-case or next to 码/号/穿/要…
        let upper = self
            .original_char(i)
            .is_some_and(|c| c.is_ascii_uppercase() || ('Ａ'..='Ｚ').contains(&c));
        let prev = if i > 0 { self.ch(i - 1) } else { '\0' };
        let _ = j;
        upper
            || after.starts_with(['码', '号'])
            || matches!(
                prev,
                '要' | '穿' | '换' | '拿' | '选' | '买' | '发' | '是' | '个'
            )
    }

    fn is_size_number(&self, value: u32, digits: usize, i: usize, after: &str, near: &str) -> bool {
        if digits > 3 {
            return false;
        }
        if after.starts_with('码') {
            return (20..=50).contains(&value) || (70..=130).contains(&value);
        }
        let prev = if i > 0 { self.ch(i - 1) } else { '\0' };
        if after.starts_with('号') {
            let next = after.chars().nth(1).unwrap_or('\0');
            return (34..=48).contains(&value)
                && prev != '月'
                && !"发到前后之左以晚早当那这下上中单".contains(next);
        }
        ["尺码", "码数", "鞋码", "穿"]
            .iter()
            .any(|w| near.ends_with(w))
            && (20..=50).contains(&value)
    }

    /// A 12–20 digit run: order id or tracking number.
    fn long_number(&mut self, tok: &str, i: usize, j: usize) {
        let before = self.before(i, WINDOW);
        let t = last_end(&before, TRACKING_WORDS)
            .into_iter()
            .chain(carrier_end(&before))
            .max();
        let o = last_end(&before, ORDER_WORDS);
        let tracking = match (t, o) {
            (Some(t), Some(o)) => t >= o,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => {
                let all = self.slice(i.saturating_sub(CONTEXT), j + CONTEXT);
                let tw = last_end(&all, TRACKING_WORDS).is_some() || carrier_in(&all).is_some();
                let ow = last_end(&all, ORDER_WORDS).is_some();
                if tw != ow {
                    tw
                } else {
                    guess_carrier(tok).is_some()
                }
            }
        };
        if tracking {
            let all = self.slice(i.saturating_sub(CONTEXT), j + CONTEXT);
            let carrier = carrier_in(&before)
                .or_else(|| carrier_in(&all))
                .flatten()
                .or_else(|| guess_carrier(tok));
            self.emit("tracking_no", i, j, carrier);
        } else {
            self.emit("order_id", i, j, None);
        }
    }

    /// Addresses and names (see the module comment). They replace any number entity inside
    /// them (the 88 of 文三路88号), and `out` stays sorted by start.
    fn personal(&mut self) {
        let has_addr = self.cs.iter().any(|c| ADDRESS_MARKERS.contains(&c.0));
        let folded: String = self.cs.iter().map(|c| c.0).collect();
        let has_name = NAME_CUES.iter().any(|w| folded.contains(w));
        if !has_addr && !has_name {
            return;
        }
        // Byte offset in `folded` → index into `cs`.
        let at = |b: usize| folded[..b].chars().count();
        let mut found: Vec<(usize, usize, &'static str)> = Vec::new();
        if has_addr {
            for m in ADDRESS.find_iter(&folded) {
                found.push((at(m.start()), at(m.end()), "address"));
            }
        }
        if has_name {
            for c in NAME.captures_iter(&folded) {
                let Some(m) = c.get(1) else { continue };
                let n = name_len(m.as_str());
                let i = at(m.start());
                if n > 0 && !found.iter().any(|&(a, b, _)| i < b && i + n > a) {
                    found.push((i, i + n, "name"));
                }
            }
        }
        if found.is_empty() {
            return;
        }
        let span = |i: usize, j: usize| -> Option<(usize, usize)> {
            Some((
                self.cs.get(i)?.1 as usize,
                self.cs.get(j.checked_sub(1)?)?.2 as usize,
            ))
        };
        let spans: Vec<(usize, usize)> = found.iter().filter_map(|&(i, j, _)| span(i, j)).collect();
        self.out
            .retain(|e| !spans.iter().any(|&(a, b)| e.start < b && e.end > a));
        for (i, j, kind) in found {
            self.emit(kind, i, j, None);
        }
        self.out.sort_by_key(|e| e.start);
    }

    /// The original substring of original chars `[start, end)`.
    fn original_text(&self, start: usize, end: usize) -> Option<&str> {
        let a = *self.bytes.get(start)? as usize;
        let b = *self.bytes.get(end)? as usize;
        self.original.get(a..b)
    }

    fn original_char(&self, i: usize) -> Option<char> {
        let start = self.cs.get(i)?.1 as usize;
        self.original_text(start, start + 1)?.chars().next()
    }

    fn emit(&mut self, kind: &'static str, i: usize, j: usize, carrier: Option<&'static str>) {
        let (Some(first), Some(last)) = (self.cs.get(i), self.cs.get(j.saturating_sub(1))) else {
            return;
        };
        let (start, end) = (first.1 as usize, last.2 as usize);
        if end <= start {
            return;
        }
        let Some(text) = self.original_text(start, end) else {
            return;
        };
        self.out.push(Entity {
            kind,
            text: text.to_string(),
            start,
            end,
            carrier,
        });
    }
}

fn is_cn_numeral(c: char) -> bool {
    matches!(
        c,
        '零' | '一'
            | '二'
            | '两'
            | '三'
            | '四'
            | '五'
            | '六'
            | '七'
            | '八'
            | '九'
            | '十'
            | '百'
            | '千'
            | '万'
    )
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Length in chars of the first unit of `units` that `after` starts with, 0 if none.
fn unit_len(after: &str, units: &[&str]) -> usize {
    units
        .iter()
        .find(|u| after.starts_with(*u))
        .map_or(0, |u| u.chars().count())
}

/// Byte position after the rightmost occurrence of any of `words` in `hay`.
fn last_end(hay: &str, words: &[&str]) -> Option<usize> {
    words
        .iter()
        .filter_map(|w| hay.rfind(w).map(|p| p + w.len()))
        .max()
}

fn carrier_end(hay: &str) -> Option<usize> {
    CARRIERS
        .iter()
        .filter_map(|(w, _)| hay.rfind(w).map(|p| p + w.len()))
        .max()
}

/// The carrier named last in `hay`: `Some(code)` when a carrier is named.
fn carrier_in(hay: &str) -> Option<Option<&'static str>> {
    CARRIERS
        .iter()
        .filter_map(|&(w, code)| hay.rfind(w).map(|p| (p, code)))
        .max_by_key(|&(p, _)| p)
        .map(|(_, code)| code)
}

/// A carrier from the shape of an all-digit number, when the shape is distinctive.
fn guess_carrier(tok: &str) -> Option<&'static str> {
    let n = tok.len();
    if n == 13 && (tok.starts_with("43") || tok.starts_with("46")) {
        Some("YD")
    } else if (12..=15).contains(&n) && (tok.starts_with("77") || tok.starts_with("88")) {
        Some("STO")
    } else if (12..=15).contains(&n) && (tok.starts_with('7') || tok.starts_with('5')) {
        Some("ZTO")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entities of `text` as (kind, text), through the scanner on an identity fold (the texts
    /// below are already simplified and half-width).
    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        let chars: Vec<Ch> = text
            .chars()
            .enumerate()
            .map(|(i, c)| (c, i as u32, i as u32 + 1))
            .collect();
        let mut out = Vec::new();
        extract(text, &chars, &mut Vec::new(), &mut out);
        for w in out.windows(2) {
            assert!(
                w[0].end <= w[1].start,
                "overlap or unsorted in {text}: {out:?}"
            );
        }
        for e in &out {
            let cut: String = text.chars().skip(e.start).take(e.end - e.start).collect();
            assert_eq!(cut, e.text, "span of {e:?} in {text}");
        }
        out.into_iter().map(|e| (e.kind, e.text)).collect()
    }

    fn ent(kind: &'static str, text: &str) -> (&'static str, String) {
        (kind, text.to_string())
    }

    const PERSONAL: &[(&str, &[(&str, &str)])] = &[
        (
            "地址改成杭州市西湖区文三路88号",
            &[("address", "杭州市西湖区文三路88号")],
        ),
        (
            "麻烦帮我改成上海市浦东新区张江路100号3栋502室，谢谢",
            &[("address", "上海市浦东新区张江路100号3栋502室")],
        ),
        (
            "收货地址是广东省深圳市南山区",
            &[("address", "广东省深圳市南山区")],
        ),
        (
            "我叫张三，电话13812345678",
            &[("name", "张三"), ("phone", "13812345678")],
        ),
        (
            "收件人改成李四电话13900001111",
            &[("name", "李四"), ("phone", "13900001111")],
        ),
        ("姓名：王小明", &[("name", "王小明")]),
        ("我叫王先生就行", &[]),
        // No cue, no surname, or not an address: nothing personal.
        ("我叫你们主管来", &[]),
        ("名字叫什么来着", &[]),
        ("我叫了好几次了", &[]),
        ("市场价多少钱", &[]),
        ("三号能发货吗", &[]),
    ];

    #[test]
    fn addresses_and_names_customers_give() {
        for (text, want) in PERSONAL {
            let want: Vec<_> = want.iter().map(|(k, t)| ent(k, t)).collect();
            assert_eq!(kinds(text), want, "{text}");
        }
    }

    #[test]
    fn an_address_swallows_the_numbers_inside_it_but_not_an_order_id_beside_it() {
        let got = kinds("订单号2023112245678的地址改成北京市朝阳区建国路88号");
        assert_eq!(
            got,
            [
                ent("order_id", "2023112245678"),
                ent("address", "北京市朝阳区建国路88号")
            ]
        );
    }
}
