//! The shipped load-balancer config (`deploy/nginx.conf`, docs/SCALE.md) passes
//! `scripts/check-nginx.sh` (`nginx -t` when an nginx binary is around, a structural check
//! otherwise), and the check does refuse a broken config.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check(conf: &Path) -> std::process::Output {
    Command::new("bash")
        .arg(root().join("scripts/check-nginx.sh"))
        .arg(conf)
        .output()
        .expect("bash runs")
}

#[test]
fn the_shipped_nginx_config_passes_the_check() {
    let out = check(&root().join("deploy/nginx.conf"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("check: ok"), "{stdout}");
}

#[test]
fn a_broken_config_is_refused() {
    let good = std::fs::read_to_string(root().join("deploy/nginx.conf")).expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    // One closing brace less; and, separately, no WebSocket upgrade header.
    let unbalanced = good.replacen("    }\n", "\n", 1);
    let no_upgrade = good.replace("proxy_set_header Upgrade $http_upgrade;", "");
    for (name, text) in [("unbalanced", unbalanced), ("no-upgrade", no_upgrade)] {
        let path = dir.path().join(format!("{name}.conf"));
        std::fs::write(&path, text).expect("write");
        let out = check(&path);
        assert!(!out.status.success(), "{name} passed the check");
    }
}
