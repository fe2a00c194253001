//! Personal values a customer gives (phone number, address, name): masked in everything the
//! service stores or pushes, yet the conversation's own agent can see one with a click
//! (`reveal`), to change an address or call back without asking again.
//!
//! The unmasked values live only in `PersonalValues`, part of the conversation's in-memory
//! state (`Inner`, under the conversation lock): never in the database, the event log or a log
//! line. A restart, or the conversation leaving memory, forgets them; a `reveal` then answers
//! `not_found`. What is recorded is that a reveal happened (the `reveals` table), not the value.

use std::collections::VecDeque;

use huashu_engine::Entity;

/// Entity kinds that are personal data: masked when pushed, revealable by the agent.
pub(crate) const PERSONAL_KINDS: &[&str] = &["phone", "address", "name", "id_number", "email"];

/// Values kept per conversation (the oldest are forgotten first): bounded memory per chat.
const KEPT: usize = 128;

/// One unmasked value: entity `entity` (its index in the analysis event's `entities`) of `turn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PersonalValue {
    pub(crate) entity: u32,
    pub(crate) kind: &'static str,
    pub(crate) value: String,
}

#[derive(Debug, Default)]
pub(crate) struct PersonalValues {
    values: VecDeque<(String, PersonalValue)>,
}

impl PersonalValues {
    /// Keeps the values of one committed customer turn.
    pub(crate) fn keep(&mut self, turn: &str, found: Vec<PersonalValue>) {
        for v in found {
            if self.values.len() == KEPT {
                self.values.pop_front();
            }
            self.values.push_back((turn.to_string(), v));
        }
    }

    pub(crate) fn get(&self, turn: &str, entity: u32) -> Option<&PersonalValue> {
        self.values
            .iter()
            .find(|(t, v)| t == turn && v.entity == entity)
            .map(|(_, v)| v)
    }
}

/// How a personal value is shown: what the shared masker makes of it (138****5678), or, when
/// it does not know the shape (a name, an address it does not recognise), the first char and
/// a `*` per other char. Length-preserving, so spans stay valid.
fn masked_value(value: &str) -> String {
    let m = huashu_store::mask(value);
    if m != value {
        return m.into_owned();
    }
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 0 { c } else { '*' })
        .collect()
}

/// Masks the personal entities of a customer turn in place (their `text`, and their span of
/// `text`) and returns the masked turn text with the unmasked values to keep in memory.
pub(crate) fn mask_personal(text: &str, entities: &mut [Entity]) -> (String, Vec<PersonalValue>) {
    let mut chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    for (i, e) in entities.iter_mut().enumerate() {
        if !PERSONAL_KINDS.contains(&e.kind) {
            continue;
        }
        let masked = masked_value(&e.text);
        let span = chars.get_mut(e.start..e.end);
        if let Some(span) = span.filter(|s| s.len() == masked.chars().count()) {
            for (slot, c) in span.iter_mut().zip(masked.chars()) {
                *slot = c;
            }
        }
        found.push(PersonalValue {
            entity: i as u32,
            kind: e.kind,
            value: std::mem::replace(&mut e.text, masked),
        });
    }
    if found.is_empty() {
        return (text.to_string(), found);
    }
    (chars.into_iter().collect(), found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(kind: &'static str, text: &str, start: usize) -> Entity {
        Entity {
            kind,
            text: text.to_string(),
            start,
            end: start + text.chars().count(),
            carrier: None,
        }
    }

    #[test]
    fn personal_entities_are_masked_in_the_text_and_kept_aside() {
        let text = "我叫张三，电话13812345678，订单2023112245678";
        let mut ents = vec![
            entity("name", "张三", 2),
            entity("phone", "13812345678", 7),
            entity("order_id", "2023112245678", 21),
        ];
        let (masked, found) = mask_personal(text, &mut ents);
        assert!(
            !masked.contains("张三") && !masked.contains("13812345678"),
            "{masked}"
        );
        assert!(masked.starts_with("我叫张*，电话"), "{masked}");
        assert_eq!(masked.chars().count(), text.chars().count());
        assert!(
            masked.ends_with("订单2023112245678"),
            "order ids are not personal"
        );
        assert_eq!(ents[0].text, "张*");
        assert_ne!(ents[1].text, "13812345678");
        assert_eq!(
            found,
            [
                PersonalValue {
                    entity: 0,
                    kind: "name",
                    value: "张三".into()
                },
                PersonalValue {
                    entity: 1,
                    kind: "phone",
                    value: "13812345678".into()
                }
            ]
        );
    }

    #[test]
    fn values_are_found_by_turn_and_entity_and_bounded() {
        let mut kept = PersonalValues::default();
        let v = |entity| PersonalValue {
            entity,
            kind: "phone",
            value: format!("v{entity}"),
        };
        kept.keep("m-1", vec![v(0), v(2)]);
        assert_eq!(kept.get("m-1", 2).map(|x| x.value.as_str()), Some("v2"));
        assert_eq!(kept.get("m-1", 1), None);
        assert_eq!(kept.get("m-2", 0), None);
        for i in 0..KEPT as u32 {
            kept.keep("m-9", vec![v(i)]);
        }
        assert_eq!(kept.get("m-1", 0), None, "the oldest are forgotten");
        assert!(kept.get("m-9", 0).is_some());
    }
}
