//! Who may connect: tokens bound to a role and a shop, and the admin token for reloads.
//!
//! Tokens are kept as SHA-256 digests, so a lookup compares digests (no early-exit comparison on
//! the secret itself) and a memory dump shows no usable token.
//!
//! Token file (TOML):
//! ```toml
//! admin = "admin-secret"
//! [[token]]
//! token = "w-secret"
//! role = "widget"        # widget | integration | agent | supervisor | any
//! shop = "shop-1"
//! # optional, widget tokens only: turns must carry the shop backend's conversation
//! # signature (see `claim.rs`); without it, conversations are bound to visitor keys.
//! signing_secret = "at-least-32-characters-of-secret"
//! [[token]]
//! token = "a-secret"
//! role = "agent"
//! shop = "shop-1"
//! agent = "a-7"          # optional: pins the agent id
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::claim::{MIN_SIGNING_SECRET, SigningKey};

/// The role a connection takes in its `hello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Widget,
    Agent,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Widget => "widget",
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
        }
    }
}

/// The roles a token allows.
///
/// `Widget` is what sits in a shop's public page: anyone can read it, so it may only send
/// customer turns (no `role:"agent"`, no `agent` credit) and read nothing. `Integration` is the
/// shop's chat system, server-side: it connects as a `widget` (protocol v1) and may also send
/// agent turns credited to an agent. `Any` (the generated loopback token) allows everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    Widget,
    Integration,
    Agent,
    Supervisor,
    Any,
}

impl TokenRole {
    fn allows(self, role: Role) -> bool {
        match self {
            TokenRole::Any => true,
            TokenRole::Widget | TokenRole::Integration => role == Role::Widget,
            TokenRole::Agent => role == Role::Agent,
            TokenRole::Supervisor => role == Role::Supervisor,
        }
    }
}

impl TokenRole {
    /// May send agent turns (`role:"agent"`, `agent` credit) on a `widget` connection.
    pub fn sends_agent_turns(self) -> bool {
        matches!(self, TokenRole::Integration | TokenRole::Any)
    }
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: TokenRole,
    pub shop: String,
    pub agent: Option<String>,
    /// Widget tokens: the secret of conversation signatures (`claim.rs`). `None`: the
    /// widget's conversations are bound to visitor keys instead.
    pub signing: Option<SigningKey>,
}

type Digest32 = [u8; 32];

fn digest(token: &str) -> Digest32 {
    Sha256::digest(token.as_bytes()).into()
}

/// The configured tokens. Immutable after start (shared by reference through `Shared`).
#[derive(Debug, Clone, Default)]
pub struct Auth {
    admin: Vec<Digest32>,
    tokens: HashMap<Digest32, Grant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    admin: Option<String>,
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    role: TokenRole,
    shop: String,
    agent: Option<String>,
    signing_secret: Option<String>,
}

impl Auth {
    /// No tokens at all (every `hello` is refused).
    pub fn new() -> Auth {
        Auth::default()
    }

    /// Adds a token granting `role` in `shop`.
    pub fn with_token(
        mut self,
        token: &str,
        role: TokenRole,
        shop: &str,
        agent: Option<&str>,
    ) -> Auth {
        self.tokens.insert(
            digest(token),
            Grant {
                role,
                shop: shop.to_string(),
                agent: agent.map(str::to_string),
                signing: None,
            },
        );
        self
    }

    /// Gives the (already added) widget token `token` a conversation-signing secret: its turns
    /// must then carry `sig` (see `claim.rs`). Does nothing for an unknown token.
    pub fn with_signing_secret(mut self, token: &str, secret: &str) -> Auth {
        if let Some(g) = self.tokens.get_mut(&digest(token)) {
            g.signing = Some(SigningKey::new(secret));
        }
        self
    }

    /// Adds an admin token (may call `POST /api/reload`).
    pub fn with_admin(mut self, token: &str) -> Auth {
        self.admin.push(digest(token));
        self
    }

    /// One random token, valid for every role of shop `default` and as admin: what a loopback
    /// server with no token file uses. Returns the token to print in the console URL.
    pub fn generated() -> Result<(Auth, String), Error> {
        let token = random_token()?;
        let auth = Auth::new()
            .with_token(&token, TokenRole::Any, "default", None)
            .with_admin(&token);
        Ok((auth, token))
    }

    /// Parses a token file.
    pub fn from_toml(text: &str, path: &Path) -> Result<Auth, Error> {
        let bad = |message: String| Error::Tokens {
            path: path.to_path_buf(),
            message,
        };
        let file: TokenFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut auth = Auth::new();
        if let Some(admin) = &file.admin {
            if admin.len() < 8 {
                return Err(bad("admin token shorter than 8 characters".into()));
            }
            auth = auth.with_admin(admin);
        }
        for (i, t) in file.token.iter().enumerate() {
            if t.token.len() < 8 {
                return Err(bad(format!("token #{} shorter than 8 characters", i + 1)));
            }
            if t.shop.is_empty() || t.shop.chars().any(char::is_control) {
                return Err(bad(format!(
                    "token #{} has an empty shop or one with control characters",
                    i + 1
                )));
            }
            if auth.tokens.contains_key(&digest(&t.token)) {
                return Err(bad(format!("token #{} is listed twice", i + 1)));
            }
            auth = auth.with_token(&t.token, t.role, &t.shop, t.agent.as_deref());
            if let Some(secret) = &t.signing_secret {
                if t.role != TokenRole::Widget {
                    return Err(bad(format!(
                        "token #{}: `signing_secret` is for widget tokens (server-side tokens are not bound to conversations)",
                        i + 1
                    )));
                }
                if secret.len() < MIN_SIGNING_SECRET {
                    return Err(bad(format!(
                        "token #{}: `signing_secret` shorter than {MIN_SIGNING_SECRET} characters",
                        i + 1
                    )));
                }
                auth = auth.with_signing_secret(&t.token, secret);
            }
        }
        Ok(auth)
    }

    /// Reads a token file.
    pub fn load(path: &Path) -> Result<Auth, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Tokens {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Auth::from_toml(&text, path)
    }

    /// True when no connection could ever authenticate.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.admin.is_empty()
    }

    /// The grant of `token` if it allows `role`.
    pub fn check(&self, token: &str, role: Role) -> Option<&Grant> {
        self.tokens
            .get(&digest(token))
            .filter(|g| g.role.allows(role))
    }

    /// The grant of `token` for any role (HTTP API calls).
    pub fn grant(&self, token: &str) -> Option<&Grant> {
        self.tokens.get(&digest(token))
    }

    pub fn is_admin(&self, token: &str) -> bool {
        let d = digest(token);
        self.admin.contains(&d)
    }
}

/// 128 random bits from the OS, hex-encoded.
pub fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_grants_roles_per_shop() {
        let auth = Auth::from_toml(
            r#"
            admin = "admin-secret"
            [[token]]
            token = "widget-secret"
            role = "widget"
            shop = "s1"
            [[token]]
            token = "agent-secret"
            role = "agent"
            shop = "s2"
            agent = "a-7"
            "#,
            Path::new("t.toml"),
        )
        .expect("valid file");
        assert!(auth.check("widget-secret", Role::Widget).is_some());
        assert!(auth.check("widget-secret", Role::Agent).is_none());
        let g = auth.check("agent-secret", Role::Agent).expect("agent");
        assert_eq!((g.shop.as_str(), g.agent.as_deref()), ("s2", Some("a-7")));
        assert!(auth.is_admin("admin-secret"));
        assert!(!auth.is_admin("agent-secret"));
        assert!(auth.check("nope", Role::Widget).is_none());
    }

    #[test]
    fn bad_token_files_are_refused_with_a_reason() {
        for text in [
            "[[token]]\ntoken='short'\nrole='agent'\nshop='s'",
            "[[token]]\ntoken='long-enough'\nrole='boss'\nshop='s'",
            "[[token]]\ntoken='long-enough'\nrole='widget'\nshop='s'\nsigning_secret='short'",
            "[[token]]\ntoken='long-enough'\nrole='integration'\nshop='s'\nsigning_secret='0123456789abcdef0123456789abcdef'",
            "oops =",
        ] {
            assert!(
                Auth::from_toml(text, Path::new("t.toml")).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn generated_token_is_valid_for_every_role_and_admin() {
        let (auth, token) = Auth::generated().expect("random");
        assert_eq!(token.len(), 32);
        for role in [Role::Widget, Role::Agent, Role::Supervisor] {
            assert_eq!(
                auth.check(&token, role).map(|g| g.shop.as_str()),
                Some("default")
            );
        }
        assert!(auth.is_admin(&token));
    }
}
