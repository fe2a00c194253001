// composer.js — reading, writing and marking the page's own reply box without breaking the page's
// framework. Writing goes through the browser's editing path (the native value setter plus an
// `input` event for <textarea>/<input>, `insertText` for contenteditable editors such as
// ProseMirror), so React, Vue and ProseMirror see an edit as if the agent typed it. Marking never
// touches the page's DOM inside the editor: contenteditable text gets CSS Custom Highlights, a
// <textarea> gets a transparent mirror laid over it.

import { cpToUtf16, strongestHits } from './labels.js';

const isField = (el) => el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement;

/** Text nodes of a contenteditable with the offset where each starts in `text` (blocks → '\n'). */
function walk(el) {
  const nodes = [];
  let text = '';
  const blocks = /^(P|DIV|LI|H[1-6]|BLOCKQUOTE|PRE)$/;
  const visit = (node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        nodes.push({ node: child, start: text.length });
        text += child.data;
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        if (child.tagName === 'BR') { text += '\n'; continue; }
        const block = blocks.test(child.tagName);
        if (block && text && !text.endsWith('\n')) text += '\n';
        visit(child);
      }
    }
  };
  visit(el);
  return { text: text.replace(/\n+$/, ''), nodes };
}

export function getText(el) {
  if (!el) return '';
  return isField(el) ? el.value : walk(el).text;
}

/** Replaces the whole draft with `text`, as an edit the page's framework notices. */
export function setText(el, text) {
  if (!el) return false;
  el.focus();
  if (isField(el)) {
    const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    const setter = Object.getOwnPropertyDescriptor(proto, 'value')?.set;
    if (setter) setter.call(el, text); else el.value = text;
    el.setSelectionRange?.(text.length, text.length);
    el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText', data: text }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    return true;
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  const selection = getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  // insertText fires beforeinput/input, which editors like ProseMirror handle as typing.
  const ok = document.execCommand('insertText', false, text);
  if (!ok || getText(el) !== text) {
    el.textContent = text;
    el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText', data: text }));
  }
  return true;
}

const STYLE_ID = 'huashu-highlight-style';
function ensureStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = `
    ::highlight(huashu-block) { background: rgba(220, 38, 38, .28); text-decoration: underline wavy #dc2626; }
    ::highlight(huashu-warn) { background: rgba(217, 119, 6, .25); text-decoration: underline wavy #d97706; }
    ::highlight(huashu-hint) { text-decoration: underline dotted #52606d; }
    .huashu-mirror { position: absolute; pointer-events: none; color: transparent !important; overflow: hidden;
      white-space: pre-wrap; word-wrap: break-word; box-sizing: border-box; z-index: 2147483000; background: transparent !important; }
    .huashu-mirror mark { color: transparent; border-radius: 2px; }
    .huashu-mirror mark.sev-block { background: rgba(220, 38, 38, .28); border-bottom: 2px solid #dc2626; }
    .huashu-mirror mark.sev-warn { background: rgba(217, 119, 6, .25); border-bottom: 2px solid #d97706; }
    .huashu-mirror mark.sev-hint { background: transparent; border-bottom: 1px dotted #52606d; }`;
  (document.head ?? document.documentElement).append(style);
}

let mirror = null;
let mirrorFor = null;

function placeMirror(el) {
  const cs = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  Object.assign(mirror.style, {
    left: `${r.left + scrollX}px`, top: `${r.top + scrollY}px`, width: `${r.width}px`, height: `${r.height}px`,
    font: cs.font, lineHeight: cs.lineHeight, letterSpacing: cs.letterSpacing, padding: cs.padding,
    borderStyle: 'solid', borderColor: 'transparent', borderWidth: cs.borderWidth, textAlign: cs.textAlign,
  });
  mirror.scrollTop = el.scrollTop;
}

/**
 * Marks `hits` (server code-point spans) on the composer whose text is `text`; hits whose span no
 * longer holds their text are not painted. Returns how many were painted.
 */
export function mark(el, text, hits) {
  ensureStyle();
  const live = strongestHits((hits ?? []).map((h) => ({ ...h, a: cpToUtf16(text, h.start), b: cpToUtf16(text, h.end) }))
    .filter((h) => text.slice(h.a, h.b) === h.text));
  if (el && isField(el)) {
    if (!mirror || mirrorFor !== el) {
      mirror?.remove();
      mirror = document.createElement('div');
      mirror.className = 'huashu-mirror';
      mirror.setAttribute('aria-hidden', 'true');
      mirror.dataset.huashu = 'mirror';
      document.body.append(mirror);
      mirrorFor = el;
      el.addEventListener('scroll', () => { if (mirror) mirror.scrollTop = el.scrollTop; });
    }
    placeMirror(el);
    const parts = [];
    let pos = 0;
    for (const h of live) {
      parts.push(document.createTextNode(text.slice(pos, h.a)));
      const m = document.createElement('mark');
      m.className = `sev-${h.severity}`;
      m.dataset.rule = h.rule;
      m.textContent = text.slice(h.a, h.b);
      parts.push(m);
      pos = h.b;
    }
    parts.push(document.createTextNode(`${text.slice(pos)}\u200b`));
    mirror.replaceChildren(...parts);
    return live.length;
  }
  if (!globalThis.CSS?.highlights || !el) return 0;
  const { nodes } = walk(el);
  const at = (i) => {
    for (let k = nodes.length - 1; k >= 0; k--) {
      const n = nodes[k];
      if (i >= n.start) return [n.node, Math.min(i - n.start, n.node.data.length)];
    }
    return null;
  };
  const groups = { block: [], warn: [], hint: [] };
  for (const h of live) {
    const s = at(h.a);
    const e = at(h.b);
    if (!s || !e) continue;
    const range = new StaticRange({ startContainer: s[0], startOffset: s[1], endContainer: e[0], endOffset: e[1] });
    (groups[h.severity] ?? groups.hint).push(range);
  }
  for (const [sev, ranges] of Object.entries(groups)) {
    if (ranges.length) CSS.highlights.set(`huashu-${sev}`, new Highlight(...ranges));
    else CSS.highlights.delete(`huashu-${sev}`);
  }
  return live.length;
}
