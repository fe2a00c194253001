// labels.js — zh-CN names of huashu's fixed ids (intents, emotions, styles, stages, tags, guard
// categories and severities, urgent kinds) and the two span helpers every view of a guard hit
// needs. One module so the Chatwoot Dashboard App and the browser extension (which carries a
// byte-identical copy, see scripts/sync-extension.sh) show the same words for the same ids.

export const INTENT = {
  greeting: '问候', product_inquiry: '商品咨询', price_promo: '价格优惠', order_change: '订单操作',
  shipping: '物流配送', return_refund: '退换退款', quality_issue: '质量问题', complaint: '投诉威胁',
  escalation: '要求升级', service_attitude: '服务态度', thanks_closing: '致谢结束', other: '其他',
};
export const EMOTION = { anger: '愤怒', anxiety: '焦急', disappointment: '失望', neutral: '平静', positive: '满意' };
export const NEGATIVE = new Set(['anger', 'anxiety', 'disappointment']);
export const STYLE = { rational: '理性型 · 先给方案', emotional: '感性型 · 先共情安抚' };
export const STAGE = { greet: '问候', soothe: '安抚', clarify: '澄清', solve: '解决', promote: '推荐', close: '结束', follow_up: '跟进' };
export const CATEGORY = {
  provoke: '激化矛盾', blame_shift: '推诿责任', impatience: '不耐烦', argue: '争辩反问', dismissive: '敷衍',
  insult: '辱骂', overpromise: '过度承诺', rude_opening: '不礼貌开场', command_tone: '命令语气',
};
export const SEVERITY = { block: '禁止发送', warn: '建议修改', hint: '措辞提示' };
export const SEVERITY_RANK = { block: 0, warn: 1, hint: 2 };
export const URGENT_KIND = {
  swallow_choke: '误吞/窒息', allergy: '过敏', burn: '烫伤/烧伤', electric: '触电/漏电', fire: '冒烟/起火/爆炸',
  gas: '燃气泄漏', food: '食品安全', injury: '受伤', pet: '宠物受伤', other: '安全问题',
};

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
