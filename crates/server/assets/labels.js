// labels.js — zh-CN names of huashu's fixed ids (intents, emotions, styles, stages, tags, guard
// categories and severities, urgent kinds), re-exported from protocol.js, which is generated
// from the Rust definitions (crates/server/src/protocol/js.rs), and the span helpers every view
// of a guard hit needs. The console, the QA page, the Chatwoot Dashboard App and the browser
// extension (byte-identical copies, see scripts/sync-extension.sh) all import from here.

export {
  INTENT, EMOTION, STYLE, STAGE, TAG, ENTITY, PERSONAL, CARRIER, CATEGORY, SEVERITY, SEVERITY_RANK,
  URGENT_KIND, ORDER_STATUS,
} from './protocol.js';
import { INTENT, SEVERITY_RANK } from './protocol.js';

/** Emotions that count as negative (trend, badges). */
export const NEGATIVE = new Set(['anger', 'anxiety', 'disappointment']);

/** The intent's Chinese name (unknown ids stay as they are rather than vanish). */
export const intentLabel = (id) => INTENT[id] ?? id;

/** UTF-16 index of the code point offset `cp` in `str` (server spans are code-point offsets). */
export function cpToUtf16(str, cp) {
  let i = 0;
  for (let n = 0; n < cp && i < str.length; n++) i += str.codePointAt(i) > 0xffff ? 2 : 1;
  return i;
}

/**
 * The hits to paint where hits overlap: block over warn over hint, then the longer, then the
 * earlier one; returned sorted by `start`.
 */
export function strongestHits(hits) {
  const rank = (x) => SEVERITY_RANK[x.severity] ?? 3;
  const byStrength = [...hits].sort((x, y) => rank(x) - rank(y) || (y.end - y.start) - (x.end - x.start) || x.start - y.start);
  const kept = [];
  for (const hit of byStrength) {
    if (kept.every((k) => hit.end <= k.start || hit.start >= k.end)) kept.push(hit);
  }
  return kept.sort((x, y) => x.start - y.start);
}

/**
 * The whole draft with its hits fixed: the engine's `rewritten` when the guard answer has one,
 * else each block/warn hit's `rewrite` put in place of its span (from the end, so earlier
 * offsets stay valid). Null when there is nothing to rewrite.
 */
export function rewriteDraft(text, guard) {
  if (typeof guard?.rewritten === 'string' && guard.rewritten.trim()) return guard.rewritten;
  const hits = strongestHits((guard?.hits ?? []).filter((x) => x.rewrite && x.severity !== 'hint'));
  if (!hits.length) return null;
  let out = text;
  for (const hit of [...hits].reverse()) {
    const a = cpToUtf16(out, hit.start);
    const b = cpToUtf16(out, hit.end);
    if (out.slice(a, b) !== hit.text) continue;
    out = out.slice(0, a) + hit.rewrite + out.slice(b);
  }
  return out === text ? null : out;
}
