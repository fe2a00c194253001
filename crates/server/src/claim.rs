//! Which conversations a widget connection may write to.
//!
//! A `widget` token sits in a shop's public page, so anyone holding it could otherwise write
//! customer turns into any conversation of the shop whose id they know or guess. Two ways tie
//! a public widget to its own conversations, the way hosted chat widgets do it:
//!
//! - **Signed conversations** (identity verification): the token has a `signing_secret`; the
//!   shop's backend, which knows which visitor owns which chat, gives the page
//!   `sig = hex(HMAC-SHA256(secret, "huashu-conversation\n" + shop + "\n" + conversation))`,
//!   and every turn carries it. Nothing is stored; a signature made for one shop never fits
//!   another (the shop is in the message, and shops have their own secrets).
//! - **First claim by a visitor key** (no signing backend needed): the widget keeps a random
//!   secret per visitor (the SDK's `visitorKey()`), sends it in `hello` as `visitor`, and the
//!   first turn of a new conversation binds the conversation to the key's SHA-256 digest, in
//!   the same transaction as the turn (`conversations.visitor`), so the binding survives
//!   restarts. Later widget turns must come with the same key. A conversation that already has
//!   turns but no binding (started server-side, or before this existed) is not claimable.
//!
//! Server-side tokens (`integration`, the generated loopback token) are not bound: the shop's
//! chat system speaks for every conversation of its shop. Digests and MACs are compared in
//! constant time; keys and secrets are never logged (their `Debug` forms are redacted).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest accepted visitor key (the SDK's keys are 32 hex characters: 128 random bits).
pub const MIN_VISITOR_KEY: usize = 16;
/// Longest accepted visitor key.
pub const MAX_VISITOR_KEY: usize = 128;
/// Shortest accepted signing secret (the token file refuses shorter ones).
pub const MIN_SIGNING_SECRET: usize = 32;

/// The domain-separation prefix of the signed message.
const SIGNED_PREFIX: &str = "huashu-conversation\n";

/// The SHA-256 digest of a visitor key: what a conversation is bound to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VisitorDigest(pub [u8; 32]);

impl VisitorDigest {
    pub fn of(key: &str) -> VisitorDigest {
        VisitorDigest(Sha256::digest(key.as_bytes()).into())
    }

    /// Constant-time equality.
    pub fn matches(&self, stored: &[u8; 32]) -> bool {
        self.0.ct_eq(stored).into()
    }
}

impl std::fmt::Debug for VisitorDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitorDigest(..)")
    }
}

/// A widget token's secret for conversation signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn new(secret: &str) -> SigningKey {
        SigningKey(secret.as_bytes().to_vec())
    }

    fn mac(&self, shop: &str, conversation: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(SIGNED_PREFIX.as_bytes());
        mac.update(shop.as_bytes());
        mac.update(b"\n");
        mac.update(conversation.as_bytes());
        mac
    }

    /// The signature of `conversation` of `shop`, lowercase hex (what the shop's backend
    /// computes; see docs/SDK.md for the same in Node and Python).
    pub fn sign(&self, shop: &str, conversation: &str) -> String {
        hex(&self.mac(shop, conversation).finalize().into_bytes())
    }

    /// Whether `sig` (hex, either case) signs `conversation` of `shop`; constant-time.
    pub fn verify(&self, shop: &str, conversation: &str, sig: &str) -> bool {
        match unhex(sig) {
            Some(bytes) => self.mac(shop, conversation).verify_slice(&bytes).is_ok(),
            None => false,
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// How a connection's turns are tied to conversations (chosen at `hello` from the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// A server-side token: any conversation of its shop.
    Any,
    /// A public widget token with a visitor key (or `None`: no `visitor` in `hello`, so no
    /// turn can be accepted): conversations this visitor started.
    Visitor(Option<VisitorDigest>),
    /// A public widget token with a signing secret: conversations whose id is signed.
    Signed(SigningKey),
}

/// Why a widget turn was refused (the error message names the way out, never the binding).
pub(crate) const NO_VISITOR: &str =
    "a widget token sends turns with a visitor key (`visitor` in hello) or a signed conversation";
pub(crate) const OTHER_VISITOR: &str = "conversation belongs to another visitor";
pub(crate) const BAD_SIGNATURE: &str = "conversation signature (`sig`) missing or invalid";

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_2104_hmac_sha256() {
        // The primitive first: RFC 4231 test case 2 (key "Jefe").
        let k = SigningKey::new("Jefe");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // And our framing, pinned so integrators' code (docs/SDK.md) keeps matching.
        let sig = k.sign("shop-1", "c-1");
        assert_eq!(sig.len(), 64);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"huashu-conversation\nshop-1\nc-1");
        assert_eq!(sig, hex(&mac.finalize().into_bytes()));
    }

    #[test]
    fn verify_refuses_other_conversations_shops_keys_and_garbage() {
        let k = SigningKey::new("0123456789abcdef0123456789abcdef");
        let sig = k.sign("shop-a", "c-1");
        assert!(k.verify("shop-a", "c-1", &sig));
        assert!(k.verify("shop-a", "c-1", &sig.to_uppercase()));
        let other = SigningKey::new("fedcba9876543210fedcba9876543210");
        let cases: &[(&SigningKey, &str, &str, &str)] = &[
            (&k, "shop-a", "c-2", &sig),
            (&k, "shop-b", "c-1", &sig),
            // The separator keeps (shop, conversation) pairs apart.
            (&k, "shop-a\nc", "-1", &sig),
            (&other, "shop-a", "c-1", &sig),
            (&k, "shop-a", "c-1", ""),
            (&k, "shop-a", "c-1", &sig[..63]),
            (&k, "shop-a", "c-1", &format!("{}zz", &sig[..62])),
        ];
        for (key, shop, conv, s) in cases {
            assert!(!key.verify(shop, conv, s), "{shop} {conv} {s}");
        }
    }

    #[test]
    fn visitor_digests_compare_and_never_print() {
        let d = VisitorDigest::of("visitor-key-0123456789");
        assert!(d.matches(&VisitorDigest::of("visitor-key-0123456789").0));
        assert!(!d.matches(&VisitorDigest::of("visitor-key-0123456788").0));
        assert_eq!(format!("{d:?}"), "VisitorDigest(..)");
        assert_eq!(
            format!("{:?}", SigningKey::new("secret-secret")),
            "SigningKey(..)"
        );
    }
}
