//! The Chatwoot connection file (`huashu serve --chatwoot FILE`): which webhook secret maps to
//! which shop, and where to write notes back.
//!
//! A file rather than flags because it holds secrets (flags show in `ps`) and a server may serve
//! several Chatwoot accounts. Secrets are kept as SHA-256 digests and a lookup compares the
//! digest of the presented secret with every configured one without an early exit, so neither
//! the time taken nor a memory dump gives a secret away.
//!
//! ```toml
//! [[account]]
//! secret = "a-long-random-string"    # ?secret=… in the webhook URL, or the X-Huashu-Secret header
//! shop = "shop-1"                    # the huashu shop the turns belong to
//! account_id = 1                     # optional: refuse payloads of any other Chatwoot account
//! api_url = "http://chatwoot.internal:3000"   # optional write-back (private notes), http only
//! api_token = "…"                    # a Chatwoot access token (Profile settings → Access token)
//! note_timeout_ms = 5000             # optional, per note
//! signing_secret = "…"               # optional: the webhook's secret in Chatwoot; a delivery
//!                                    # signed with it (X-Chatwoot-Signature) needs no ?secret=
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::Error;

type Digest32 = [u8; 32];

fn digest(s: &str) -> Digest32 {
    Sha256::digest(s.as_bytes()).into()
}

/// Equal without an early exit (the compared values are digests of equal length).
fn ct_eq(a: &Digest32, b: &Digest32) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where a note goes: Chatwoot's REST API over plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Api {
    /// `host:port` to connect to and to send as `Host`.
    pub(crate) authority: String,
    /// Path prefix of the Chatwoot installation (usually empty).
    pub(crate) prefix: String,
    pub(crate) token: String,
    pub(crate) timeout: Duration,
}

/// One configured Chatwoot account.
pub struct ChatwootAccount {
    secret: Digest32,
    pub(crate) shop: String,
    pub(crate) account_id: Option<u64>,
    pub(crate) api: Option<Api>,
    /// Chatwoot's webhook signing secret (the HMAC key itself: it cannot be kept as a digest).
    signing_key: Option<Vec<u8>>,
    pub(crate) notes: super::note::NoteState,
}

impl std::fmt::Debug for ChatwootAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the API token.
        f.debug_struct("ChatwootAccount")
            .field("shop", &self.shop)
            .field("account_id", &self.account_id)
            .field("write_back", &self.api.as_ref().map(|a| &a.authority))
            .field("signed", &self.signing_key.is_some())
            .finish()
    }
}

impl ChatwootAccount {
    /// An account whose webhook `secret` delivers turns to `shop`.
    pub fn new(secret: &str, shop: &str) -> ChatwootAccount {
        ChatwootAccount {
            secret: digest(secret),
            shop: shop.to_string(),
            account_id: None,
            api: None,
            signing_key: None,
            notes: Default::default(),
        }
    }

    /// Accept only payloads of this Chatwoot account id.
    pub fn account_id(mut self, id: u64) -> ChatwootAccount {
        self.account_id = Some(id);
        self
    }

    /// Also accept deliveries signed by Chatwoot with this webhook secret
    /// (`X-Chatwoot-Signature`, `X-Chatwoot-Timestamp`).
    pub fn signing_secret(mut self, secret: &str) -> ChatwootAccount {
        self.signing_key = Some(secret.as_bytes().to_vec());
        self
    }

    /// Write private notes back through Chatwoot's API at `url` (`http://host[:port][/prefix]`)
    /// with the access token `token`.
    pub fn write_back(
        mut self,
        url: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<ChatwootAccount, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            if url.starts_with("https://") {
                "api_url: https is not supported by the built-in client; use Chatwoot's internal http address (e.g. http://chatwoot-web:3000)".to_string()
            } else {
                "api_url must start with http://".to_string()
            }
        })?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains(['@', ' ', '?', '#']) {
            return Err(format!("api_url has no usable host: {url}"));
        }
        if token.trim().is_empty() || token.contains(['\r', '\n']) {
            return Err("api_token is empty or has a line break".into());
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        self.api = Some(Api {
            authority,
            prefix: prefix.to_string(),
            token: token.to_string(),
            timeout,
        });
        Ok(self)
    }
}

/// Every configured Chatwoot account (none: the webhook answers 401 to everything).
#[derive(Debug, Clone, Default)]
pub struct Chatwoot {
    accounts: Vec<Arc<ChatwootAccount>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    account: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    secret: String,
    shop: String,
    account_id: Option<u64>,
    api_url: Option<String>,
    api_token: Option<String>,
    note_timeout_ms: Option<u64>,
    signing_secret: Option<String>,
}

impl Chatwoot {
    pub fn new() -> Chatwoot {
        Chatwoot::default()
    }

    pub fn with_account(mut self, account: ChatwootAccount) -> Chatwoot {
        self.accounts.push(Arc::new(account));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Parses a Chatwoot connection file.
    pub fn from_toml(text: &str, path: &Path) -> Result<Chatwoot, Error> {
        let bad = |message: String| Error::Chatwoot {
            path: path.to_path_buf(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut out = Chatwoot::new();
        for (i, e) in file.account.into_iter().enumerate() {
            let n = i + 1;
            if e.secret.len() < 16 {
                return Err(bad(format!(
                    "account #{n}: secret shorter than 16 characters"
                )));
            }
            if e.shop.is_empty() {
                return Err(bad(format!("account #{n}: empty shop")));
            }
            if out.account(&e.secret).is_some() {
                return Err(bad(format!("account #{n}: secret listed twice")));
            }
            let mut a = ChatwootAccount::new(&e.secret, &e.shop);
            if let Some(id) = e.account_id {
                a = a.account_id(id);
            }
            match e.signing_secret.as_deref() {
                Some(s) if s.len() < 8 => {
                    return Err(bad(format!(
                        "account #{n}: signing_secret shorter than 8 characters"
                    )));
                }
                Some(s) => a = a.signing_secret(s),
                None => {}
            }
            match (e.api_url, e.api_token) {
                (Some(url), Some(token)) => {
                    let timeout = Duration::from_millis(e.note_timeout_ms.unwrap_or(5000));
                    a = a
                        .write_back(&url, &token, timeout)
                        .map_err(|m| bad(format!("account #{n}: {m}")))?;
                }
                (None, None) => {}
                _ => {
                    return Err(bad(format!(
                        "account #{n}: api_url and api_token go together"
                    )));
                }
            }
            out = out.with_account(a);
        }
        Ok(out)
    }

    /// Reads a Chatwoot connection file.
    pub fn load(path: &Path) -> Result<Chatwoot, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Chatwoot {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Chatwoot::from_toml(&text, path)
    }

    /// Whether any account accepts Chatwoot-signed deliveries.
    pub(crate) fn has_signing(&self) -> bool {
        self.accounts.iter().any(|a| a.signing_key.is_some())
    }

    /// The account whose signing secret signed `body` at `timestamp` (Unix seconds, within
    /// `MAX_SKEW_SECS` of `now`); every signing account is tried, without an early exit.
    pub(crate) fn signed_account(
        &self,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: i64,
    ) -> Option<Arc<ChatwootAccount>> {
        let ts: i64 = timestamp.trim().parse().ok()?;
        if (now - ts).abs() > super::sign::MAX_SKEW_SECS {
            return None;
        }
        let given = super::sign::parse_signature(signature)?;
        let mut found = None;
        for a in &self.accounts {
            let Some(key) = &a.signing_key else { continue };
            let want = super::sign::hmac_sha256(key, &[timestamp.trim().as_bytes(), b".", body]);
            if ct_eq(&want, &given) && found.is_none() {
                found = Some(Arc::clone(a));
            }
        }
        found
    }

    /// The account whose secret is `secret` (every entry is compared, no early exit).
    pub(crate) fn account(&self, secret: &str) -> Option<Arc<ChatwootAccount>> {
        let d = digest(secret);
        let mut found = None;
        for a in &self.accounts {
            if ct_eq(&a.secret, &d) && found.is_none() {
                found = Some(Arc::clone(a));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_maps_secrets_to_shops_and_refuses_bad_entries() {
        let c = Chatwoot::from_toml(
            r#"
            [[account]]
            secret = "0123456789abcdef-one"
            shop = "s1"
            account_id = 3
            api_url = "http://chatwoot.internal:3000/cw/"
            api_token = "tok"
            [[account]]
            secret = "0123456789abcdef-two"
            shop = "s2"
            "#,
            Path::new("c.toml"),
        )
        .expect("valid");
        let one = c.account("0123456789abcdef-one").expect("one");
        assert_eq!((one.shop.as_str(), one.account_id), ("s1", Some(3)));
        let api = one.api.as_ref().expect("write-back");
        assert_eq!(
            (api.authority.as_str(), api.prefix.as_str()),
            ("chatwoot.internal:3000", "/cw")
        );
        assert!(
            c.account("0123456789abcdef-two")
                .is_some_and(|a| a.api.is_none())
        );
        assert!(c.account("0123456789abcdef-thr").is_none());
        assert!(
            !format!("{one:?}").contains("tok\""),
            "token printed: {one:?}"
        );
        for bad in [
            "[[account]]\nsecret='short'\nshop='s'",
            "[[account]]\nsecret='0123456789abcdef'\nshop=''",
            "[[account]]\nsecret='0123456789abcdef'\nshop='s'\napi_url='https://x'\napi_token='t'",
            "[[account]]\nsecret='0123456789abcdef'\nshop='s'\napi_url='http://x'",
            "[[account]]\nsecret='0123456789abcdef'\nshop='s'\n[[account]]\nsecret='0123456789abcdef'\nshop='t'",
            "[[account]]\nsecret='0123456789abcdef'\nshop='s'\nbogus=1",
            "[[account]]\nsecret='0123456789abcdef'\nshop='s'\nsigning_secret='short'",
        ] {
            assert!(
                Chatwoot::from_toml(bad, Path::new("c.toml")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn default_port_is_80() {
        let a = ChatwootAccount::new("0123456789abcdef", "s")
            .write_back("http://cw.local", "t", Duration::from_secs(1))
            .expect("valid");
        assert_eq!(a.api.map(|a| a.authority), Some("cw.local:80".to_string()));
    }
}
