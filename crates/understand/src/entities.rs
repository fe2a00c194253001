//! Entity extraction: order ids, tracking numbers (with carrier), phone numbers, amounts, sizes,
//! heights and weights, with char spans in the original text.
//!
//! Works on a 1:1 fold of the turn (width, case and traditional → simplified only; no noise
//! skipping, no collapsing), so ＳＦ１２３… and 訂單號 read like SF123… and 订单号 while every char
//! keeps its original offset. A hand-written scanner walks runs of ASCII letters and digits and
//! classifies each by shape and by the words around it — cheaper than a dozen regexes and able to
//! weigh context: a 12–20 digit run is a tracking number when the nearest context word before it
//! is 快递单号/运单号/物流单号 or a carrier name, an order id when it is 订单(号)/单号, and otherwise
//! a tracking number only if it has a carrier's shape (YD 43/46…, STO 77/88…, ZTO 7/5…).

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
