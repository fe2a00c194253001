// protocol.js — GENERATED from the Rust definitions by crates/server/src/protocol/js.rs; do not edit.
// Protocol v1 message types, error and close codes, a JSDoc typedef per frame, and the zh-CN names
// of the fixed ids the pages show. Regenerate: HUASHU_BLESS=1 cargo test -p huashu-server --lib protocol::js
// (the test fails while this file is stale). Reference: docs/PROTOCOL.md.

export const PROTOCOL_VERSION = 1;

/** Every `type` a client may send. */
export const INBOUND_TYPES = Object.freeze(["hello", "ping", "turn", "send", "subscribe", "unsubscribe", "draft", "feedback", "reveal", "resolve", "watch", "unwatch"]);

/** Every `type` the server sends. */
export const OUTBOUND_TYPES = Object.freeze(["welcome", "pong", "ack", "subscribed", "unsubscribed", "conversations", "conversation", "unwatched", "guard", "noted", "revealed", "resolved", "analysis", "suggestions", "safety", "sla", "follow_up", "order", "error"]);

/** `code` values of `error` frames. */
export const ERROR_CODES = Object.freeze(["bad_json", "unknown_type", "missing_field", "bad_field", "too_large", "unauthorized", "forbidden", "not_found", "rate_limited", "overloaded", "binary_unsupported", "internal", "bad_frame"]);

/** Close codes besides the standard ones (docs/PROTOCOL.md "Close codes"). */
export const CLOSE = Object.freeze({ UNAUTHORIZED: 4401, SLOW_CONSUMER: 4008, HEARTBEAT_TIMEOUT: 4000 });

// ---- zh-CN names of the fixed ids ----

/** Intents (`intents[].id`, summaries' `intent`). */
export const INTENT = Object.freeze({
  greeting: "问候",
  product_inquiry: "商品咨询",
  price_promo: "价格优惠",
  order_change: "订单操作",
  shipping: "物流配送",
  return_refund: "退换退款",
  quality_issue: "质量问题",
  complaint: "投诉威胁",
  escalation: "要求升级",
  service_attitude: "服务态度",
  thanks_closing: "致谢结束",
  other: "其他",
});

/** Emotion labels (`emotion.label`). */
export const EMOTION = Object.freeze({
  anger: "愤怒",
  anxiety: "焦急",
  disappointment: "失望",
  neutral: "平静",
  positive: "满意",
});

/** Script stages (`stage`). */
export const STAGE = Object.freeze({
  greet: "问候",
  soothe: "安抚",
  clarify: "澄清",
  solve: "解决",
  promote: "推荐",
  close: "结束",
  follow_up: "跟进",
});

/** Suggestion tags (`items[].tags`): the script tags, and `faq` on FAQ answers. */
export const TAG = Object.freeze({
  empathy: "共情",
  apology: "致歉",
  solution: "方案",
  safety: "安全",
  escalation: "升级",
  generic: "通用",
  data: "查询数据",
  compensation: "补偿",
  keep_using: "继续使用",
  coupon: "优惠券",
  promotion: "促销",
  review_request: "邀评",
  faq: "知识库",
});

/** Forbidden-phrase categories (`hits[].category`). */
export const CATEGORY = Object.freeze({
  provoke: "激化矛盾",
  blame_shift: "推诿责任",
  impatience: "不耐烦",
  argue: "争辩反问",
  dismissive: "敷衍",
  insult: "辱骂",
  overpromise: "过度承诺",
  rude_opening: "不礼貌开场",
  command_tone: "命令语气",
});

/** Hit severities (`hits[].severity`), strongest first. */
export const SEVERITY = Object.freeze({
  block: "禁止发送",
  warn: "建议修改",
  hint: "措辞提示",
});

/** Paint order of overlapping hits: lower wins. */
export const SEVERITY_RANK = Object.freeze({
  block: "0",
  warn: "1",
  hint: "2",
});

/** Urgent kinds (`urgent_kind`, `safety.kind`, summaries' `safety`). */
export const URGENT_KIND = Object.freeze({
  pet: "宠物受害",
  swallow_choke: "误食/窒息",
  gas: "燃气泄漏",
  fire: "冒烟/起火/爆炸",
  electric: "触电/漏电",
  allergy: "过敏/皮肤反应",
  food: "食品安全",
  burn: "烫伤/烧伤",
  injury: "人身受伤",
  other: "其他紧急情况",
});

/** Customer styles (`style`), as the console words them. */
export const STYLE = Object.freeze({
  rational: "理性型 · 先给方案",
  emotional: "感性型 · 先共情安抚",
});

/** Entity kinds (`entities[].kind`). */
export const ENTITY = Object.freeze({
  order_id: "订单号",
  tracking_no: "物流单号",
  phone: "手机号",
  amount: "金额",
  size: "尺码",
  height: "身高",
  weight: "体重",
  email: "邮箱",
  address: "地址",
  id_number: "证件号",
  name: "姓名",
});

/** Entity kinds masked as personal data (`reveal` answers for these). */
export const PERSONAL = Object.freeze(["phone", "address", "name", "id_number", "email"]);

/** Carriers of tracking numbers (`entities[].carrier`). */
export const CARRIER = Object.freeze({
  SF: "顺丰",
  ZTO: "中通",
  YTO: "圆通",
  YD: "韵达",
  STO: "申通",
  JD: "京东",
  EMS: "EMS",
});

/** Order statuses (`order.status`). */
export const ORDER_STATUS = Object.freeze({
  unpaid: "待付款",
  paid: "已付款，待发货",
  shipped: "已发货",
  in_transit: "运输中",
  delivering: "派送中",
  signed: "已签收",
  cancelled: "已取消",
  refunding: "退款中",
  refunded: "已退款",
});

/** Catalogue product categories. */
export const PRODUCT_CATEGORY = Object.freeze({
  apparel: "服装鞋包",
  home: "家居餐具",
  digital: "数码家电",
  food: "食品生鲜",
  beauty: "美妆个护",
  baby_toys: "母婴玩具",
});

// ---- frames the server sends ----

/**
 * `welcome` (Outbound::Welcome).
 * @typedef {object} Welcome
 * @property {?string} agent
 * @property {{hash: string, name: string, version: string}} book
 * @property {{heartbeat_ms: number, max_frame: number, max_text: number, outbound_queue: number, rate: {burst: number, per_sec: number}}} limits
 * @property {number} protocol
 * @property {string} role
 * @property {number} server_time
 * @property {string} shop
 * @property {{breach_ms: number, warn_ms: number}} sla
 * @property {'welcome'} type
 * @property {{label: string, name: string, offset_min: number}} tz
 */

/**
 * `pong` (Outbound::Pong).
 * @typedef {object} Pong
 * @property {'pong'} type
 */

/**
 * `ack` (Outbound::Ack).
 * @typedef {object} Ack
 * @property {string} conversation
 * @property {string} id
 * @property {number} seq
 * @property {'ack'} type
 * @property {boolean} [duplicate]
 */

/**
 * `subscribed` (Outbound::Subscribed).
 * @typedef {object} Subscribed
 * @property {string} conversation
 * @property {number} seq
 * @property {'subscribed'} type
 */

/**
 * `unsubscribed` (Outbound::Unsubscribed).
 * @typedef {object} Unsubscribed
 * @property {string} conversation
 * @property {'unsubscribed'} type
 */

/**
 * `conversations` (Outbound::Conversations).
 * @typedef {object} Conversations
 * @property {Array<*>} items
 * @property {'conversations'} type
 */

/**
 * `conversation` (Outbound::Conversation).
 * @typedef {object} Conversation
 * @property {string} conversation
 * @property {?string} customer
 * @property {string} emotion
 * @property {boolean} escalation
 * @property {Array<*>} escalation_reasons
 * @property {number} intensity
 * @property {string} intent
 * @property {number} last_at
 * @property {string} last_role
 * @property {string} last_text
 * @property {?string} safety
 * @property {?string} safety_name
 * @property {number} seq
 * @property {string} shop
 * @property {string} sla
 * @property {boolean} threat
 * @property {string} trend
 * @property {number} turns
 * @property {'conversation'} type
 * @property {number} updated_at
 * @property {boolean} urgent
 * @property {number} waiting_since
 */

/**
 * `unwatched` (Outbound::Unwatched).
 * @typedef {object} Unwatched
 * @property {'unwatched'} type
 */

/**
 * `guard` (Outbound::DraftGuard).
 * @typedef {object} DraftGuard
 * @property {string} conversation
 * @property {string} draft
 * @property {Array<{category: string, end: number, rewrite: string, rule: string, severity: string, start: number, text: string}>} hits
 * @property {?string} rewritten
 * @property {'guard'} type
 */

/**
 * `noted` (Outbound::Noted).
 * @typedef {object} Noted
 * @property {string} action
 * @property {string} conversation
 * @property {string} suggestion
 * @property {'noted'} type
 */

/**
 * `revealed` (Outbound::Revealed).
 * @typedef {object} Revealed
 * @property {string} conversation
 * @property {number} entity
 * @property {string} kind
 * @property {string} turn
 * @property {'revealed'} type
 * @property {string} value
 */

/**
 * `resolved` (Outbound::Resolved).
 * @typedef {object} Resolved
 * @property {boolean} changed
 * @property {string} conversation
 * @property {'resolved'} type
 */

/**
 * `analysis` (Outbound::Analysis).
 * @typedef {object} Analysis
 * @property {number} at
 * @property {boolean} confident
 * @property {string} conversation
 * @property {string} [customer]
 * @property {{intensity: number, label: string}} emotion
 * @property {Array<{end: number, kind: string, start: number, text: string, carrier: (string|undefined)}>} entities
 * @property {{escalation: boolean, escalation_reasons: Array<*>, threat: boolean, trend: string, urgent: boolean}} flags
 * @property {Array<{id: string, score: number}>} intents
 * @property {boolean} repeat_ask
 * @property {string} role
 * @property {?{kind: string, name: string}} safety
 * @property {number} seq
 * @property {string} style
 * @property {string} text
 * @property {boolean} threat
 * @property {string} turn
 * @property {'analysis'} type
 * @property {boolean} urgent
 * @property {?string} urgent_kind
 */

/**
 * `suggestions` (Outbound::Suggestions).
 * @typedef {object} Suggestions
 * @property {string} conversation
 * @property {Array<{id: string, intent: string, script: string, stage: string, tags: Array<string>, text: string, title: string, safety: (string|undefined), source: (string|undefined)}>} items
 * @property {number} seq
 * @property {string} turn
 * @property {'suggestions'} type
 * @property {boolean} [refresh]
 */

/**
 * `guard` (Outbound::TurnGuard).
 * @typedef {object} TurnGuard
 * @property {number} at
 * @property {string} conversation
 * @property {{escalation: boolean, escalation_reasons: Array<*>, threat: boolean, trend: string, urgent: boolean}} flags
 * @property {{due_in_ms: number, text: string}} [follow_up]
 * @property {Array<{category: string, end: number, rewrite: string, rule: string, severity: string, start: number, text: string}>} hits
 * @property {?string} rewritten
 * @property {string} role
 * @property {number} seq
 * @property {string} text
 * @property {string} turn
 * @property {'guard'} type
 */

/**
 * `safety` (Outbound::Safety).
 * @typedef {object} Safety
 * @property {number} at
 * @property {string} [by]
 * @property {string} conversation
 * @property {string} resolved
 * @property {*} safety
 * @property {number} seq
 * @property {'safety'} type
 */

/**
 * `sla` (Outbound::Sla).
 * @typedef {object} Sla
 * @property {string} conversation
 * @property {string} level
 * @property {number} seq
 * @property {string} turn
 * @property {'sla'} type
 * @property {number} waiting_ms
 */

/**
 * `follow_up` (Outbound::FollowUp).
 * @typedef {object} FollowUp
 * @property {string} conversation
 * @property {number} due_at
 * @property {number} seq
 * @property {string} text
 * @property {string} turn
 * @property {'follow_up'} type
 */

/**
 * `order` (Outbound::Order).
 * @typedef {object} Order
 * @property {string} conversation
 * @property {{carrier: string, id: string, items: Array<{quantity: number, title: string, sku: (string|undefined)}>, logistics: string, shipped_at: string, signed_at: ?string, status: string, status_text: string, tracking: string}} order
 * @property {number} seq
 * @property {string} turn
 * @property {'order'} type
 */

/**
 * `error` (Outbound::Error).
 * @typedef {object} Error
 * @property {string} code
 * @property {string} message
 * @property {string} [ref]
 * @property {'error'} type
 */

/** @typedef {Welcome|Pong|Ack|Subscribed|Unsubscribed|Conversations|Conversation|Unwatched|DraftGuard|Noted|Revealed|Resolved|Analysis|Suggestions|TurnGuard|Safety|Sla|FollowUp|Order|Error} Outbound */

// ---- messages a client sends ----

/**
 * `hello` (see docs/PROTOCOL.md).
 * @typedef {object} HelloMessage
 * @property {string} agent
 * @property {string} role
 * @property {string} shop
 * @property {string} token
 * @property {'hello'} type
 */

/**
 * `ping` (see docs/PROTOCOL.md).
 * @typedef {object} PingMessage
 * @property {'ping'} type
 */

/**
 * `turn` (see docs/PROTOCOL.md).
 * @typedef {object} TurnMessage
 * @property {number} at
 * @property {string} conversation
 * @property {string} [customer]
 * @property {string} id
 * @property {string} role
 * @property {string} text
 * @property {'turn'} type
 * @property {string} [agent]
 */

/** @typedef {{type: 'send'}} SendMessage */

/**
 * `subscribe` (see docs/PROTOCOL.md).
 * @typedef {object} SubscribeMessage
 * @property {string} conversation
 * @property {number} since
 * @property {'subscribe'} type
 */

/**
 * `unsubscribe` (see docs/PROTOCOL.md).
 * @typedef {object} UnsubscribeMessage
 * @property {string} conversation
 * @property {'unsubscribe'} type
 */

/**
 * `draft` (see docs/PROTOCOL.md).
 * @typedef {object} DraftMessage
 * @property {string} conversation
 * @property {string} draft
 * @property {string} text
 * @property {'draft'} type
 */

/**
 * `feedback` (see docs/PROTOCOL.md).
 * @typedef {object} FeedbackMessage
 * @property {string} action
 * @property {string} conversation
 * @property {string} suggestion
 * @property {'feedback'} type
 */

/**
 * `reveal` (see docs/PROTOCOL.md).
 * @typedef {object} RevealMessage
 * @property {string} conversation
 * @property {number} entity
 * @property {string} turn
 * @property {'reveal'} type
 */

/**
 * `resolve` (see docs/PROTOCOL.md).
 * @typedef {object} ResolveMessage
 * @property {string} conversation
 * @property {'resolve'} type
 */

/**
 * `watch` (see docs/PROTOCOL.md).
 * @typedef {object} WatchMessage
 * @property {'watch'} type
 */

/**
 * `unwatch` (see docs/PROTOCOL.md).
 * @typedef {object} UnwatchMessage
 * @property {'unwatch'} type
 */

/** @typedef {HelloMessage|PingMessage|TurnMessage|SendMessage|SubscribeMessage|UnsubscribeMessage|DraftMessage|FeedbackMessage|RevealMessage|ResolveMessage|WatchMessage|UnwatchMessage} Inbound */
