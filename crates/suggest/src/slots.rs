//! Slot filling: script texts are split once, at compile time, into literal pieces and slot
//! references, so that the hot path can ask "can this script be filled?" without touching the
//! text, and fill only the few scripts it returns.
//!
//! Invariant: a template with any slot that has neither a conversation value nor a non-empty
//! book default is never filled — the agent never sees a raw `{slot}`.

use std::collections::BTreeMap;
use std::ops::Range;

/// The book's `[slots]`, indexed: slot index → (name, default).
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotTable {
    names: Vec<String>,
    defaults: Vec<String>,
}

impl SlotTable {
    pub(crate) fn new(slots: &BTreeMap<String, String>) -> SlotTable {
        let mut t = SlotTable::default();
        for (name, default) in slots {
            t.names.push(name.clone());
            t.defaults.push(default.trim().to_string());
        }
        t
    }

    /// Index of `name`, adding it (with no default) when the book did not declare it.
    fn intern(&mut self, name: &str) -> u16 {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return i as u16;
        }
        self.names.push(name.to_string());
        self.defaults.push(String::new());
        (self.names.len() - 1) as u16
    }

    /// The value of slot `i` in this conversation: its own value first, then the book default.
    pub(crate) fn value<'a>(
        &'a self,
        i: u16,
        conv: &'a BTreeMap<String, String>,
    ) -> Option<&'a str> {
        let i = usize::from(i);
        let name = self.names.get(i)?;
        if let Some(v) = conv.get(name.as_str())
            && !v.is_empty()
        {
            return Some(v);
        }
        self.defaults
            .get(i)
            .map(String::as_str)
            .filter(|d| !d.is_empty())
    }

    /// Bit `i` set when slot `i` (< 64) has a value in this conversation.
    pub(crate) fn available(&self, conv: &BTreeMap<String, String>) -> u64 {
        let mut mask = 0u64;
        for i in 0..self.names.len().min(64) {
            if self.value(i as u16, conv).is_some() {
                mask |= 1 << i;
            }
        }
        mask
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(Range<usize>),
    Slot(u16),
}

/// A text with `{slot}` placeholders, pre-split.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    text: String,
    pieces: Vec<Piece>,
    /// Slots with index < 64, as a bit mask.
    need_mask: u64,
    /// Slots with index ≥ 64 (only for books with very many slots).
    need_rest: Vec<u16>,
}

impl Template {
    /// Splits `text`; an unclosed or empty brace is an error (message without location).
    pub(crate) fn compile(text: &str, table: &mut SlotTable) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut need_mask = 0u64;
        let mut need_rest = Vec::new();
        let mut pos = 0;
        while let Some(open) = text[pos..].find('{').map(|o| o + pos) {
            let close = text[open + 1..]
                .find('}')
                .map(|c| c + open + 1)
                .ok_or_else(|| format!("unclosed '{{' in text {text:?}"))?;
            let name = &text[open + 1..close];
            if name.trim().is_empty() || name.contains('{') {
                return Err(format!("bad slot in text {text:?}"));
            }
            if open > pos {
                pieces.push(Piece::Lit(pos..open));
            }
            let i = table.intern(name.trim());
            if i < 64 {
                need_mask |= 1 << i;
            } else if !need_rest.contains(&i) {
                need_rest.push(i);
            }
            pieces.push(Piece::Slot(i));
            pos = close + 1;
        }
        if text[pos..].contains('}') {
            return Err(format!("stray '}}' in text {text:?}"));
        }
        if pos < text.len() {
            pieces.push(Piece::Lit(pos..text.len()));
        }
        Ok(Template {
            text: text.to_string(),
            pieces,
            need_mask,
            need_rest,
        })
    }

    /// Whether every slot has a value, given the mask from [`SlotTable::available`].
    #[inline]
    pub(crate) fn fillable(
        &self,
        available: u64,
        table: &SlotTable,
        conv: &BTreeMap<String, String>,
    ) -> bool {
        self.need_mask & !available == 0
            && self
                .need_rest
                .iter()
                .all(|&i| table.value(i, conv).is_some())
    }

    /// The filled text, or `None` when a slot has no value.
    pub(crate) fn fill(
        &self,
        table: &SlotTable,
        conv: &BTreeMap<String, String>,
    ) -> Option<String> {
        let mut out = String::with_capacity(self.text.len() + 24);
        for p in &self.pieces {
            match p {
                Piece::Lit(r) => out.push_str(self.text.get(r.clone())?),
                Piece::Slot(i) => out.push_str(table.value(*i, conv)?),
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SlotTable {
        let mut m = BTreeMap::new();
        m.insert("称呼".to_string(), "亲".to_string());
        m.insert("订单号".to_string(), String::new());
        SlotTable::new(&m)
    }

    #[test]
    fn fills_from_conversation_then_defaults() {
        let mut t = table();
        let tpl = Template::compile("{称呼}，订单{订单号}已发货", &mut t).expect("valid template");
        let mut conv = BTreeMap::new();
        assert!(!tpl.fillable(t.available(&conv), &t, &conv));
        assert_eq!(tpl.fill(&t, &conv), None);
        conv.insert("订单号".to_string(), "123".to_string());
        assert!(tpl.fillable(t.available(&conv), &t, &conv));
        assert_eq!(tpl.fill(&t, &conv).as_deref(), Some("亲，订单123已发货"));
        conv.insert("称呼".to_string(), "王女士".to_string());
        assert_eq!(
            tpl.fill(&t, &conv).as_deref(),
            Some("王女士，订单123已发货")
        );
    }

    #[test]
    fn undeclared_slots_need_a_conversation_value() {
        let mut t = table();
        let tpl = Template::compile("{店铺}欢迎您", &mut t).expect("valid template");
        let conv = BTreeMap::new();
        assert!(!tpl.fillable(t.available(&conv), &t, &conv));
    }

    #[test]
    fn broken_braces_are_errors() {
        let mut t = table();
        for bad in ["{称呼", "{}好", "好}", "{a{b}"] {
            assert!(Template::compile(bad, &mut t).is_err(), "{bad}");
        }
        let plain = Template::compile("没有占位符", &mut t).expect("valid template");
        assert_eq!(
            plain.fill(&t, &BTreeMap::new()).as_deref(),
            Some("没有占位符")
        );
    }
}
