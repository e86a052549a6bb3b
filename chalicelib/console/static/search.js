// Search: one box, a mode switch, results with thumbnails, scores and highlighted query words,
// and (when asked) the answer with its citations linked to the items.
import { api } from "./api.js";
import { announce, fill, h, highlight, img, link } from "./dom.js";

const MODES = [["hybrid", "Hybrid"], ["keyword", "Keyword"], ["vector", "Meaning (vector)"]];

function resultView(result, query) {
  const href = `#/items/${encodeURIComponent(result.item_id)}`;
  return h("li", { class: "result card", "data-item-id": result.item_id },
    result.thumbnail_url ? img(result.thumbnail_url, `Thumbnail of ${result.headline || result.item_id}`, { class: "thumb", width: 120, height: 120 })
      : h("div", { class: "thumb placeholder", "aria-hidden": "true" }),
    h("div", {},
      h("h3", {}, link(highlight(result.headline || "(no headline)", query), href)),
      result.summary ? h("p", { class: "summary" }, highlight(result.summary, query)) : null,
      h("p", { class: "muted" },
        result.category ? `${result.category} · ` : "",
        h("span", { class: "score", title: "relevance score" }, `score ${Number(result.score).toFixed(3)}`))));
}

function answerView(response, byId) {
  if (response.answer === undefined && response.answer_error === undefined) return null;
  const box = h("section", { class: "card answer", "aria-labelledby": "answer-title" }, h("h2", { id: "answer-title" }, "Answer"));
  if (!response.answer) {
    const error = response.answer_error;
    const message = error && typeof error === "object" ? String(error.message || error.code || "") : String(error || "");
    box.append(h("p", { class: "error answer-error" }, message || "No answer could be given."));
    return box;
  }
  const { text, citations, provider_used: provider, model_used: model } = response.answer;
  box.append(h("p", { class: "answer-text" }, text || ""));
  if (Array.isArray(citations) && citations.length) {
    box.append(h("h3", {}, "Sources"), h("ol", { class: "citations" }, citations.map((id) => {
      const cited = byId.get(String(id));
      return h("li", {}, link(cited && cited.headline ? cited.headline : `item ${id}`, `#/items/${encodeURIComponent(String(id))}`));
    })));
  }
  if (provider) box.append(h("p", { class: "muted" }, `answered by ${provider}${model ? ` (${model})` : ""}`));
  return box;
}

export function render(root) {
  const query = h("input", { id: "search-query", type: "search", required: true, maxlength: 1000, autocomplete: "off" });
  const modes = h("fieldset", { class: "modes" }, h("legend", {}, "Mode"), MODES.map(([value, label], i) =>
    h("label", {}, h("input", { type: "radio", name: "mode", value, checked: i === 0 }), ` ${label}`)));
  const ask = h("input", { type: "checkbox", id: "search-answer" });
  const minScore = h("input", { id: "search-min-score", type: "number", step: "0.01", min: "0", inputmode: "decimal" });
  const out = h("div", { class: "search-results", "aria-live": "polite" });

  async function run(e) {
    e.preventDefault();
    const body = { query: query.value.trim(), mode: modes.querySelector("input:checked").value };
    if (!body.query) return;
    if (ask.checked) body.answer = true;
    if (minScore.value !== "") body.min_score = Number(minScore.value);
    fill(out, h("p", { class: "muted" }, "Searching…"));
    try {
      const response = await api("POST", "/search", { body });
      const byId = new Map(response.results.map((r) => [r.item_id, r]));
      fill(out,
        answerView(response, byId),
        h("h2", {}, `${response.results.length} result${response.results.length === 1 ? "" : "s"} (${response.mode})`),
        h("ol", { class: "results" }, response.results.map((r) => resultView(r, body.query))));
      announce(`${response.results.length} results`);
    } catch (err) {
      fill(out, h("p", { class: "error", role: "alert" }, err.message));
    }
  }

  root.append(h("h1", {}, "Search"),
    h("form", { class: "search", role: "search", onsubmit: run },
      h("label", { for: "search-query" }, "Search your images"), query, modes,
      h("label", { class: "inline" }, ask, " Answer the question from my images (with citations)"),
      h("label", { for: "search-min-score" }, "Minimum score (optional)"), minScore,
      h("button", { type: "submit" }, "Search")),
    out);
  query.focus();
}
