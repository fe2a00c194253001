//! Chatwoot's own webhook signature (newer Chatwoot releases sign every delivery when the webhook
//! has a secret): `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`
//! with the Unix time in `X-Chatwoot-Timestamp`. HMAC is written out over `sha2` (RFC 2104) rather
//! than adding a crate for twenty lines; the RFC 4231 vectors below pin it.

use sha2::{Digest, Sha256};

/// HMAC-SHA256 of `parts` (concatenated) under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// `sha256=<64 hex digits>` → the 32 bytes.
pub(crate) fn parse_signature(header: &str) -> Option<[u8; 32]> {
    let hex = header.trim().strip_prefix("sha256=")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// How far a signed delivery's timestamp may be from the server's clock (replays are refused).
pub(crate) const MAX_SKEW_SECS: i64 = 300;

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn rfc4231_vectors() {
        // Test case 2 (short key) and 6 (key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signature_headers_parse_strictly() {
        let good = format!("sha256={}", "ab".repeat(32));
        assert_eq!(parse_signature(&good), Some([0xab; 32]));
        for bad in [
            "ab".repeat(32),
            format!("sha1={}", "ab".repeat(32)),
            "sha256=zz".into(),
            format!("sha256={}", "ab".repeat(31)),
        ] {
            assert_eq!(parse_signature(&bad), None, "{bad}");
        }
    }
}
