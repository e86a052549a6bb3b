// DOM building for untrusted text: every string becomes a text node; no markup is ever parsed.
// Links get an href only when it is an http(s) URL or an app-relative path.

/** h("p", {class: "x"}, "text", child) -> an element; attributes are set one by one. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "href" || name === "src") {
      throw new Error("use link() or img() for URLs");
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append strings (as text nodes), numbers, nodes and nested arrays. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Replace an element's children (null/false children are skipped, unlike Element.append). */
export function fill(el, ...children) {
  return append(clear(el), children);
}

/** The URL a link may carry, or null: http(s) URLs, and paths inside the console ("#/...")
 * or the app ("/..."). javascript:, data:, protocol-relative and anything else are refused. */
export function safeHref(value) {
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (text.startsWith("#/")) return text;
  if (/^\/(?!\/)/.test(text)) return text;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A link when the URL is safe, else the label as plain text (the URL shown after it). */
export function link(label, href, attrs = {}) {
  const safe = safeHref(href);
  if (!safe) return h("span", { class: "unsafe-link", title: "link not followed: only http(s) links are" }, label);
  const a = h("a", attrs, label);
  a.href = safe;
  if (/^https?:/.test(safe) && !safe.startsWith(location.origin)) {
    a.rel = "noopener noreferrer";
    a.target = "_blank";
  }
  return a;
}

/** An <img> for a URL from the API (presigned S3 / local blob URL), lazily loaded. */
export function img(src, alt, attrs = {}) {
  const el = h("img", { alt: alt || "", loading: "lazy", decoding: "async", ...attrs });
  const safe = safeHref(src);
  if (safe) el.src = safe;
  return el;
}

/** Text with every occurrence of the query's words wrapped in <mark>, built from text nodes. */
export function highlight(text, query) {
  const value = text == null ? "" : String(text);
  const words = [...new Set(String(query || "").toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) || [])];
  if (!words.length || !value) return [value];
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(${escaped.join("|")})`, "giu");
  return value.split(pattern).map((part, i) => (i % 2 === 1 ? h("mark", {}, part) : part));
}

export function fmtTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** Say something to screen readers (and show it) in the status line. */
export function announce(message, kind = "info") {
  const el = document.getElementById("status");
  if (!el) return;
  el.dataset.kind = kind;
  el.textContent = message;
}

/** A JSON value rendered as nested definition lists of text (analysis objects, vendors). */
export function valueTree(value, depth = 0) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "none");
  if (Array.isArray(value)) {
    if (!value.length) return h("span", { class: "muted" }, "none");
    return h("ul", { class: "tree" }, value.map((v) => h("li", {}, valueTree(v, depth + 1))));
  }
  if (typeof value === "object") {
    if (depth > 6) return h("span", {}, "…");
    return h("dl", { class: "tree" }, Object.entries(value).map(([k, v]) => [h("dt", {}, k), h("dd", {}, valueTree(v, depth + 1))]));
  }
  return h("span", {}, String(value));
}

export function uuid() {
  return crypto.randomUUID ? crypto.randomUUID() : [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
