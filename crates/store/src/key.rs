//! Conversation keys: what the store and the service key a conversation by. A client names a
//! conversation by its own id (`order-10001`), unique only within its shop; two shops using the
//! same id must get two conversations, and no lookup may tell one shop whether another uses an
//! id. So every stored row and every in-memory slot is keyed by (shop, id), encoded as one
//! string (`shop` U+001F `id`) so the tables, indexes and queries keep one key column.

use crate::schema::KEY_SEPARATOR;

/// The key of conversation `id` of `shop`.
pub fn conversation_key(shop: &str, id: &str) -> String {
    let mut k = String::with_capacity(shop.len() + 1 + id.len());
    k.push_str(shop);
    k.push(KEY_SEPARATOR);
    k.push_str(id);
    k
}

/// The client's conversation id of a key (a key without a separator is returned whole).
pub fn client_id(key: &str) -> &str {
    key.split_once(KEY_SEPARATOR).map_or(key, |(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_back_into_the_client_id() {
        const CASES: &[(&str, &str)] =
            &[("shop-a", "order-10001"), ("s", ""), ("店铺", "c\u{7f}/x")];
        for (shop, id) in CASES {
            let k = conversation_key(shop, id);
            assert_eq!(client_id(&k), *id);
            assert_ne!(k, conversation_key("other", id));
        }
        assert_eq!(client_id("legacy"), "legacy");
    }
}
