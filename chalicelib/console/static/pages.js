// Ambient pages: the user's fresh pages rendered from their components. One renderer per
// component type the generator's schema allows (chalicelib/pages/generation.py COMPONENT_TYPES),
// and an explicit fallback for any other type. All of it is model output: text only.
import { api } from "./api.js";
import { announce, clear, fill, fmtTime, h, link } from "./dom.js";

const CONSOLE_ROUTES = new Set(["collection", "search", "tasks", "pages", "ops"]);

/** An app-relative href from a page ("/tasks", "/items/1") as a console route, else null. */
export function consoleHref(href) {
  if (typeof href !== "string") return null;
  if (/^https?:\/\//i.test(href)) return href; // link() still checks the scheme
  const match = /^\/(?!\/)([A-Za-z0-9_-]*)(\/[A-Za-z0-9/_.-]*)?/.exec(href);
  if (!match) return null;
  const [, first, rest = ""] = match;
  if (first === "items") return rest.length > 1 ? `#/items${rest}` : "#/collection";
  return CONSOLE_ROUTES.has(first) ? `#/${first}${rest}` : null;
}

function action(component) {
  const a = component.action;
  if (!a || typeof a !== "object") return null;
  const label = String(a.label || component.title || "Open");
  const target = consoleHref(a.href);
  return target ? link(label, target, { class: "action" }) : h("span", { class: "action unsafe-link" }, `${label} (${String(a.href ?? "")})`);
}

function items(component) {
  return Array.isArray(component.items) && component.items.length
    ? h("ul", {}, component.items.map((i) => h("li", {}, String(i)))) : null;
}

function body(component) {
  return component.body ? h("p", {}, String(component.body)) : null;
}

/** The renderers: one per schema type. Each builds DOM from text; none parses markup. */
export const RENDERERS = {
  hero: (c) => h("section", { class: "c-hero" }, h("h2", {}, String(c.title)), body(c), items(c), action(c)),
  card: (c) => h("article", { class: "c-card card" }, h("h3", {}, String(c.title)), body(c), items(c), action(c)),
  list: (c) => h("section", { class: "c-list" }, h("h3", {}, String(c.title)), body(c),
    h("ul", {}, (Array.isArray(c.items) ? c.items : []).map((i) => h("li", {}, String(i)))), action(c)),
  shortcut: (c) => h("div", { class: "c-shortcut" }, action(c) || h("span", { class: "action" }, String(c.title)),
    h("span", { class: "muted" }, String(c.title)), body(c)),
  metric: (c) => h("div", { class: "c-metric card" }, h("span", { class: "metric-label" }, String(c.title)),
    h("span", { class: "metric-value" }, String(c.body ?? (Array.isArray(c.items) ? c.items[0] ?? "" : ""))), action(c)),
  cta: (c) => h("div", { class: "c-cta card" }, h("h3", {}, String(c.title)), body(c), action(c)),
  tip: (c) => h("aside", { class: "c-tip", "aria-label": "Tip" }, h("strong", {}, "Tip: "), String(c.title), body(c), items(c)),
};

export function renderComponent(component) {
  if (!component || typeof component !== "object") return h("div", { class: "c-unknown" }, "An unreadable component was skipped.");
  const renderer = Object.prototype.hasOwnProperty.call(RENDERERS, component.type) ? RENDERERS[component.type] : null;
  const el = renderer ? renderer(component) : h("div", { class: "c-unknown card" },
    h("p", { class: "muted" }, `Unsupported component type "${String(component.type)}"; shown as text.`),
    h("h3", {}, String(component.title ?? "")), body(component), items(component));
  el.dataset.component = renderer ? component.type : "unknown";
  return el;
}

export function pageView(page) {
  const spec = page.components && typeof page.components === "object" ? page.components : {};
  const list = Array.isArray(spec.components) ? spec.components : [];
  return h("article", { class: "page", "data-page-type": page.page_type },
    h("h2", {}, String(spec.title || page.page_type)),
    h("p", { class: "muted" }, `${page.page_type} · ${page.source} · ${page.provider_used}${page.model_used ? ` (${page.model_used})` : ""}`,
      ` · generated ${fmtTime(page.generated_at)} · fresh until ${fmtTime(page.expires_at)}`),
    h("div", { class: "components" }, list.map(renderComponent)));
}

/** Fire a local schedule and wait for its delivery to finish (local stage only). */
async function runSchedule(name) {
  const { delivery_id: id } = await api("POST", `/local/schedules/${encodeURIComponent(name)}/fire`, { body: {} });
  for (let i = 0; i < 120; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { deliveries } = await api("GET", "/local/deliveries", { params: { limit: 100 } });
    const delivery = deliveries.find((d) => d.id === id);
    if (delivery && ["succeeded", "failed"].includes(delivery.status)) return delivery;
  }
  throw new Error(`${name} did not finish in a minute`);
}

function loopButton(reload) {
  return h("button", { type: "button", class: "secondary", onclick: async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      for (const name of ["pattern_detector", "page_generator"]) {
        announce(`Running ${name}…`);
        const delivery = await runSchedule(name);
        if (delivery.status !== "succeeded") throw new Error(`${name} failed: ${delivery.reason || "see Operations"}`);
      }
      announce("Detector and generator ran: your predicted pages are below");
      reload();
    } catch (err) {
      announce(err.message, "error");
    } finally {
      button.disabled = false;
    }
  } }, "Run the detector and generator now");
}

export function render(root, { params, config }) {
  const out = h("div", { class: "pages" });
  const typeInput = h("input", { id: "page-type", pattern: "[a-z0-9][a-z0-9_\\-]{0,63}", required: true, autocomplete: "off" });
  root.append(h("h1", {}, "Pages"),
    h("p", { class: "muted" }, "Pages the generator made for you from your activity (your navigation here is recorded as activity).",
      config.local ? [" The schedules run every few minutes; run them now with the button below (or on ", link("Operations", "#/ops"), ")."] : ""),
    h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); location.hash = `#/pages/${encodeURIComponent(typeInput.value.trim())}`; } },
      h("label", { for: "page-type" }, "Open or generate a page type"), typeInput, h("button", { type: "submit" }, "Open")),
    config.local && !params[0] ? loopButton(load) : "",
    out);

  function load() {
    const pages = params[0]
      ? api("GET", `/pages/${encodeURIComponent(params[0])}`).then((page) => [page])
      : api("GET", "/pages").then((r) => r.pages);
    pages.then((list) => {
      fill(out, ...(list.length ? list.map(pageView)
        : [h("p", { class: "muted" }, "No fresh pages yet: use the console for a while; the detector and generator run every few minutes.")]));
    }).catch((err) => { clear(out); announce(`Could not load pages: ${err.message}`, "error"); });
  }
  load();
}
