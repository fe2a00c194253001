#!/usr/bin/env python3
"""Regenerates crates/normalize/src/tables.rs, the per-char data of the normaliser.

Why a generator: the traditional -> simplified table comes from a third-party dictionary and the
noise / width / case classes come from the Unicode character database; both must be refreshable
without hand-editing thousands of lines, and the output must say where every byte came from.

Sources
- OpenCC `TSCharacters.txt` (Apache-2.0, https://github.com/BYVoid/OpenCC), read from the PyPI
  wheel `opencc-python-reimplemented==0.1.7` (Apache-2.0), which ships OpenCC's dictionaries.
  The script runs `pip download --no-deps` into a temporary directory unless `--ts FILE` is given.
  Only the generated Rust file is committed, never the downloaded data.
- The Unicode Character Database through Python's `unicodedata2` module (Apache-2.0) if it is
  installed (`pip install unicodedata2`, newer Unicode), else the standard `unicodedata`.
- HAND_VARIANTS below: a small, reviewed list of variant characters OpenCC does not fold.

Usage: python3 scripts/gen_t2s.py [--ts path/to/TSCharacters.txt] [--out path]
"""

import argparse
import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

try:
    import unicodedata2 as ucd
except ImportError:  # pragma: no cover - depends on the machine
    import unicodedata as ucd

    print(f"warning: unicodedata2 not installed; using Python's Unicode {ucd.unidata_version}, "
          "which changes the generated classes (pip install unicodedata2)", file=sys.stderr)

OPENCC_WHEEL = "opencc-python-reimplemented==0.1.7"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "crates", "normalize", "src", "tables.rs")

# Variant characters that OpenCC's traditional -> simplified table leaves alone but that chat
# users type as stand-ins for the common form. Keep this list modest: every entry must be a char
# that never means something else in simplified Chinese text. 着/著 are deliberately absent
# (both are ordinary word chars), as are two-char variants such as 甚么 -> 什么.
HAND_VARIANTS = {
    "妳": "你",  # feminine "you", common in Taiwanese chat
    "祢": "你",  # "you" (addressing a deity), used as a playful/evasive 你
    "伱": "你",  # variant of 你
    "吿": "告",  # variant of 告 (U+543F)
    "囯": "国",  # popular variant of 国
    "箇": "个",  # already in OpenCC; repeated so the intent is explicit
    "裏": "里",  # already in OpenCC
    "裡": "里",  # already in OpenCC
    "峯": "峰",  # already in OpenCC
    "衞": "卫",  # variant of 衛/卫
    "塲": "场",  # variant of 場/场
    "菓": "果",  # variant of 果 (菓子)
    "綫": "线",  # already in OpenCC
    "説": "说",  # Japanese form of 說
}

# Compatibility decompositions that count as width / style foldings (all 1 char -> 1 char).
WIDTH_TAGS = {"<wide>", "<narrow>", "<font>", "<circle>", "<super>", "<sub>", "<square>",
              "<small>", "<vertical>"}

CJK_MAIN = (0x4E00, 0x9FFF)
NOISE_LIMIT = 0x40000  # everything from here on (planes 4-16: tags, private use) is noise


def fetch_ts(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp,
                    OPENCC_WHEEL], check=True)
    wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        return z.read("opencc/dictionary/TSCharacters.txt").decode("utf-8")


def is_cjk_letter_area(u):
    return 0x3400 <= u <= 0x4DBF or 0x4E00 <= u <= 0x9FFF or 0x20000 <= u <= 0x3FFFF


def is_noise(u):
    cat = ucd.category(chr(u))
    if cat[0] in "LN":
        return False
    if cat == "Cn" and is_cjk_letter_area(u):
        return False  # future CJK extensions: treat as letters, not noise
    return True


def parse_ts(text):
    ts = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        src, cands = line.split("\t")
        assert len(src) == 1, line
        first = cands.split(" ")[0]  # OpenCC lists the most common candidate first
        assert len(first) == 1, line
        if first != src:
            ts[src] = first
    return ts


def close(m):
    """Composes a mapping with itself until every target is a fixed point."""
    out = {}
    for s in m:
        seen, t = {s}, m[s]
        while t in m and m[t] != t:
            assert t not in seen, f"cycle through {s}"
            seen.add(t)
            t = m[t]
        if t != s:
            out[s] = t
    return out


def build_chinese(ts):
    m = {}
    for u in list(range(0xF900, 0xFB00)) + list(range(0x2F800, 0x2FA20)):
        d = ucd.decomposition(chr(u))
        if d and not d.startswith("<") and len(d.split()) == 1:
            m[chr(u)] = chr(int(d, 16))  # compatibility ideograph -> unified ideograph
    for u in list(range(0x2E80, 0x2F00)) + list(range(0x2F00, 0x2FE0)):
        d = ucd.decomposition(chr(u))
        if d.startswith("<compat>") and len(d.split()) == 2:
            m[chr(u)] = chr(int(d.split()[1], 16))  # Kangxi / CJK radical -> ideograph
    # Variants first, then traditional -> simplified on top, composed to a fixed point.
    for s, t in HAND_VARIANTS.items():
        m[s] = t
    for s, t in ts.items():
        m.setdefault(s, t)
    return close(m)


def build_width():
    m = {}
    for u in range(0x80, 0x110000):
        c = chr(u)
        try:
            d = ucd.digit(c)
            m[c] = str(d)
            continue
        except ValueError:
            pass
        dec = ucd.decomposition(c)
        if not dec.startswith("<"):
            continue
        parts = dec.split()
        if parts[0] in WIDTH_TAGS and len(parts) == 2:
            m[c] = chr(int(parts[1], 16))
    return close(m)


def build_case():
    m = {}
    for u in range(0x80, 0x110000):
        c = chr(u)
        low = c.lower()
        if len(low) == 1 and low != c:
            m[c] = low
    return m


def noise_ranges():
    ranges, start = [], None
    for u in range(NOISE_LIMIT + 1):
        n = u < NOISE_LIMIT and is_noise(u)
        if n and start is None:
            start = u
        elif not n and start is not None:
            ranges.append((start, u - 1))
            start = None
    return ranges


def lit(c):
    u = ord(c)
    if ucd.category(c)[0] in "LN" and u > 0x7F:
        return f"'{c}'"
    return f"'\\u{{{u:04X}}}'"


def pairs(name, doc, m):
    lines = [f"/// {doc}", "#[rustfmt::skip]", f"pub(crate) static {name}: &[(char, char)] = &["]
    row = []
    for s in sorted(m):
        row.append(f"({lit(s)}, {lit(m[s])}),")
        if len(row) == 6:
            lines.append("    " + " ".join(row))
            row = []
    if row:
        lines.append("    " + " ".join(row))
    lines.append("];")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ts", help="path to OpenCC TSCharacters.txt (default: fetch the wheel)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    if args.ts:
        with open(args.ts, encoding="utf-8") as f:
            text = f.read()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            text = fetch_ts(tmp)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    ts = parse_ts(text)
    chinese = build_chinese(ts)
    main_pairs = {s: t for s, t in chinese.items()
                  if CJK_MAIN[0] <= ord(s) <= CJK_MAIN[1] and ord(t) <= 0xFFFF}
    other = {s: t for s, t in chinese.items() if s not in main_pairs}
    width = build_width()
    case = build_case()
    noise = noise_ranges()

    out = [
        "//! GENERATED by scripts/gen_t2s.py; do not edit by hand, rerun the script.",
        "//!",
        "//! Per-char data of the normaliser: traditional -> simplified and variant folds, width and",
        "//! digit-style folds, case folds and the noise classes.",
        "//!",
        "//! Sources and licences:",
        "//! - OpenCC `TSCharacters.txt` (Apache-2.0, https://github.com/BYVoid/OpenCC), taken from",
        f"//!   the PyPI wheel `{OPENCC_WHEEL}` (Apache-2.0); sha256 of the file:",
        f"//!   {digest}.",
        "//!   Where OpenCC lists several simplified candidates the first (most common) one is used.",
        "//! - Hand variant list `HAND_VARIANTS` in scripts/gen_t2s.py (this project's licence).",
        f"//! - Unicode Character Database {ucd.unidata_version} (Unicode licence) via Python's"
        f" `{ucd.__name__}`:",
        "//!   compatibility ideographs and radicals, width/style/digit folds, lower-case mappings,",
        "//!   general categories (noise = everything that is not a letter or a number).",
        "//!",
        f"//! Counts: {len(ts)} OpenCC traditional -> simplified mappings; {len(chinese)} Chinese folds",
        f"//! in total ({len(main_pairs)} in the U+4E00..U+9FFF direct table); {len(width)} width folds;",
        f"//! {len(case)} case folds; {len(noise)} noise ranges.",
        "",
        "/// Number of OpenCC traditional -> simplified mappings the Chinese folds were built from.",
        f"pub const OPENCC_T2S_MAPPINGS: usize = {len(ts)};",
        "",
        "/// Unicode version the classes below were generated from.",
        f'pub const UNICODE_VERSION: &str = "{ucd.unidata_version}";',
        "",
        pairs("CJK_MAIN_FOLDS",
              "Chinese folds whose source is in U+4E00..U+9FFF and target in the BMP, sorted.",
              main_pairs),
        "",
        pairs("CHINESE_FOLDS",
              "All other Chinese folds (Ext. A, compatibility ideographs, radicals, non-BMP "
              "targets), sorted.", other),
        "",
        pairs("WIDTH_FOLDS", "Full-width, half-width, styled and digit-style folds, sorted.", width),
        "",
        pairs("CASE_FOLDS", "Non-ASCII one-char lower-case mappings, sorted.", case),
        "",
        "/// Chars from here on (planes 4-16: tags, variation selectors, private use) are all noise.",
        f"pub(crate) const NOISE_LIMIT: u32 = 0x{NOISE_LIMIT:X};",
        "",
        "/// Inclusive ranges of noise chars below `NOISE_LIMIT`, sorted.",
        "#[rustfmt::skip]",
        "pub(crate) static NOISE_RANGES: &[(u32, u32)] = &[",
    ]
    row = []
    for a, b in noise:
        row.append(f"(0x{a:05X}, 0x{b:05X}),")
        if len(row) == 6:
            out.append("    " + " ".join(row))
            row = []
    if row:
        out.append("    " + " ".join(row))
    out.append("];")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.out}: {len(ts)} OpenCC mappings, {len(chinese)} Chinese folds, "
          f"{len(width)} width, {len(case)} case, {len(noise)} noise ranges", file=sys.stderr)


if __name__ == "__main__":
    main()
