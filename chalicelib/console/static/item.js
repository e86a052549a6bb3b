// One item: the original, its status (and failure reason), every analysis version, re-analyse
// and delete. Analysis text comes from a model: rendered as text only.
import { api } from "./api.js";
import { announce, clear, fill, fmtTime, h, img, link, valueTree } from "./dom.js";
import { stageLabel } from "./collection.js";

const POLL_MS = 1500;

function analysisView(analysis) {
  return h("article", { class: "card analysis", "data-version": analysis.version },
    h("h3", {}, `Version ${analysis.version}`, analysis.category ? ` · ${analysis.category}` : ""),
    h("p", { class: "muted" }, `${analysis.provider_used} · ${analysis.model_used} · ${fmtTime(analysis.created_at)}`),
    analysis.headline ? h("p", { class: "headline" }, analysis.headline) : null,
    analysis.summary ? h("p", { class: "summary" }, analysis.summary) : null,
    h("details", {}, h("summary", {}, "Everything the analysis recorded"), valueTree(analysis.analysis)));
}

export function render(root, { params, navigate }) {
  const id = params[0];
  let timer = null;
  let stopped = false;
  let seenVersions = -1;
  const head = h("div", { class: "item-head" });
  const versions = h("section", { "aria-labelledby": "versions-title" }, h("h2", { id: "versions-title" }, "Analyses"));
  const list = h("div", { class: "versions" });
  versions.append(list);
  const actions = h("div", { class: "actions" });
  root.append(h("p", {}, link("← Collection", "#/collection")), h("h1", {}, "Item"), head, actions, versions);

  async function refresh() {
    let item;
    try {
      item = await api("GET", `/items/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err.status === 404) {
        fill(head, h("p", {}, "This item does not exist (or was deleted)."));
        clear(actions);
        return;
      }
      announce(`Could not load the item: ${err.message}`, "error");
      if (!stopped) timer = setTimeout(refresh, POLL_MS * 2);
      return;
    }
    root.querySelector("h1").textContent = item.filename;
    fill(head,
      item.original_url ? h("figure", {}, img(item.original_url, `The original image ${item.filename}`, { class: "original" }),
        h("figcaption", {}, link("Open the original", item.original_url)))
        : item.thumbnail_url ? img(item.thumbnail_url, `Thumbnail of ${item.filename}`, { class: "original" }) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { "data-testid": "item-status" }, h("span", { class: `badge status-${item.status}` }, stageLabel(item))),
        item.error ? [h("dt", {}, "Reason"), h("dd", { class: "error" }, item.error)] : null,
        h("dt", {}, "Category"), h("dd", {}, item.category || "—"),
        h("dt", {}, "Headline"), h("dd", {}, item.headline || "—"),
        h("dt", {}, "Type"), h("dd", {}, item.mime_type),
        h("dt", {}, "Added"), h("dd", {}, fmtTime(item.created_at))));
    if (!actions.childElementCount) actions.append(reanalyseButton(), deleteButton());
    const { analyses } = await api("GET", `/items/${encodeURIComponent(id)}/analyses`);
    if (analyses.length !== seenVersions) {
      seenVersions = analyses.length;
      fill(list, ...(analyses.length ? analyses.map(analysisView) : [h("p", { class: "muted" }, "No analysis yet.")]));
    }
    if (!stopped && !["ready", "failed"].includes(item.status)) timer = setTimeout(refresh, POLL_MS);
  }

  function reanalyseButton() {
    return h("button", { type: "button", onclick: async (e) => {
      e.currentTarget.disabled = true;
      try {
        await api("POST", `/items/${encodeURIComponent(id)}/analyze`, { body: {}, idempotent: true });
        announce("Analysing again: a new version will appear");
        clearTimeout(timer);
        refresh();
      } catch (err) {
        announce(`Could not re-analyse: ${err.message}`, "error");
      } finally {
        e.target.disabled = false;
      }
    } }, "Re-analyse");
  }

  function deleteButton() {
    const confirm = h("button", { type: "button", class: "danger", hidden: true, onclick: async () => {
      try {
        await api("DELETE", `/items/${encodeURIComponent(id)}`);
        announce("Item deleted");
        navigate("#/collection");
      } catch (err) {
        announce(`Could not delete: ${err.message}`, "error");
      }
    } }, "Yes, delete it and its analyses");
    const ask = h("button", { type: "button", class: "secondary", onclick: () => { confirm.hidden = false; confirm.focus(); } }, "Delete…");
    return h("span", {}, ask, confirm);
  }

  refresh().catch((err) => announce(err.message, "error"));
  return () => { stopped = true; clearTimeout(timer); };
}
