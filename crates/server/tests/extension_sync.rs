//! The browser extension carries copies of the SDK and the label table (an unpacked extension
//! cannot import files outside its folder); this keeps them byte-identical to the served ones.
//! Fix a failure with `scripts/sync-extension.sh`.

#[test]
fn extension_copies_match_the_served_assets() {
    let pairs = [
        (
            include_str!("../assets/huashu.js"),
            include_str!("../../../extension/lib/huashu.js"),
            "huashu.js",
        ),
        (
            include_str!("../assets/labels.js"),
            include_str!("../../../extension/lib/labels.js"),
            "labels.js",
        ),
        (
            include_str!("../assets/protocol.js"),
            include_str!("../../../extension/lib/protocol.js"),
            "protocol.js",
        ),
    ];
    for (served, copy, name) in pairs {
        assert!(
            served == copy,
            "extension/lib/{name} differs from crates/server/assets/{name}: run scripts/sync-extension.sh"
        );
    }
}
