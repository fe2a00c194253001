//! Where the shipped phrasebooks are found when no `--phrasebooks` is given.

use std::path::PathBuf;

/// The directory holding the shipped books: `$HUASHU_PHRASEBOOKS`, else `./phrasebooks` when it
/// exists (running from a checkout), else the `phrasebooks/` of the source tree this binary was
/// built from.
pub fn default_root() -> PathBuf {
    if let Some(p) = std::env::var_os("HUASHU_PHRASEBOOKS") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("phrasebooks");
    if local.join("default").is_dir() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../phrasebooks"))
}

/// The default book directory (`<root>/default`).
pub fn default_book() -> PathBuf {
    default_root().join("default")
}
