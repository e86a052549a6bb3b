// The collection: drag-and-drop / picked uploads with progress, a live gallery with filters
// and cursor paging (lazy thumbnails, next page when the end scrolls into view).
import { api, uploadFile } from "./api.js";
import { announce, clear, h, img } from "./dom.js";

const PAGE = 60;
const POLL_MS = 1500;
const FINAL = new Set(["ready", "failed"]);
const WAITING = new Set(["awaiting_upload"]);
const UPLOAD_WINDOW_MS = 20 * 60 * 1000; // an upload URL lives 15 minutes: older waiting items will not move

/** Whether an item may still change by itself (worth polling). */
function moving(item, now = Date.now()) {
  if (FINAL.has(item.status)) return false;
  if (WAITING.has(item.status) && item.created_at && now - Date.parse(item.created_at) > UPLOAD_WINDOW_MS) return false;
  return true;
}
const ACCEPTED = new Set(["image/jpeg", "image/png"]);
const STATUSES = [["", "any status"], ["awaiting_upload", "awaiting upload"],
  ["processing", "processing"], ["ready", "ready"], ["failed", "failed"]];

/** Where an item is in the pipeline, from what the API tells us. */
export function stageLabel(item) {
  switch (item.status) {
    case "awaiting_upload":
      return "awaiting upload";
    case "processing":
      if (!item.thumbnail_url) return "making thumbnail";
      return item.headline ? "embedding" : "analysing";
    case "failed":
      return "failed";
    case "ready":
      return "ready";
    default:
      return String(item.status || "unknown");
  }
}

export function itemCard(item) {
  const thumb = item.thumbnail_url
    ? img(item.thumbnail_url, `Thumbnail of ${item.filename}`, { class: "thumb", width: 160, height: 160 })
    : h("div", { class: "thumb placeholder", "aria-hidden": "true" }, stageLabel(item));
  const card = h("a", { class: "item-card", "data-item-id": item.item_id, "data-status": item.status },
    thumb,
    h("span", { class: "filename" }, item.filename),
    h("span", { class: `badge status-${item.status}` }, stageLabel(item)),
    item.headline ? h("span", { class: "headline" }, item.headline) : null,
    item.category ? h("span", { class: "category" }, item.category) : null,
    item.status === "failed" && item.error ? h("span", { class: "error" }, item.error) : null);
  card.href = `#/items/${encodeURIComponent(item.item_id)}`;
  return card;
}

export function render(root) {
  const items = new Map(); // item_id -> item (in gallery order)
  const categories = new Set();
  let cursor = null;
  let loading = false;
  let done = false;
  let generation = 0; // bumps when filters change, so stale pages are dropped
  let timer = null;
  let stopped = false;

  const category = h("input", { id: "filter-category", list: "categories", placeholder: "any category", autocomplete: "off" });
  const datalist = h("datalist", { id: "categories" });
  const status = h("select", { id: "filter-status" }, STATUSES.map(([v, l]) => h("option", { value: v }, l)));
  const grid = h("div", { class: "gallery", "aria-live": "off" });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const sentinel = h("div", { class: "sentinel" });
  const moreButton = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => loadPage() }, "Load more");
  const fileInput = h("input", { type: "file", id: "file-input", multiple: true, accept: "image/jpeg,image/png" });
  const uploads = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const drop = h("div", { class: "drop", "data-testid": "dropzone" },
    h("p", {}, "Drop JPEG or PNG images here, or "),
    h("label", { for: "file-input" }, "choose images"), fileInput);

  fileInput.addEventListener("change", () => { startUploads([...fileInput.files]); fileInput.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    startUploads([...(e.dataTransfer?.files || [])]);
  });

  root.append(h("h1", {}, "Collection"), drop, uploads,
    h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); reload(); } },
      h("label", { for: "filter-category" }, "Category"), category, datalist,
      h("label", { for: "filter-status" }, "Status"), status,
      h("button", { type: "submit" }, "Filter")),
    count, grid, moreButton, sentinel);
  status.addEventListener("change", reload);

  function filters() {
    return { category: category.value.trim().toLowerCase(), status: status.value };
  }

  function put(item, { prepend = false } = {}) {
    const old = items.get(item.item_id);
    if (old && old.thumbnail_url && item.thumbnail_url) item.thumbnail_url = old.thumbnail_url; // keep the loaded image
    items.set(item.item_id, { ...old, ...item });
    if (item.category && !categories.has(item.category)) {
      categories.add(item.category);
      datalist.append(h("option", { value: item.category }));
    }
    const card = itemCard(items.get(item.item_id));
    const existing = grid.querySelector(`[data-item-id="${CSS.escape(item.item_id)}"]`);
    if (existing) {
      if (existing.dataset.status !== item.status || existing.querySelector(".placeholder") && item.thumbnail_url
          || (item.headline && !existing.querySelector(".headline"))) existing.replaceWith(card);
    } else if (prepend) grid.prepend(card);
    else grid.append(card);
  }

  function showCount() {
    count.textContent = `${items.size} item${items.size === 1 ? "" : "s"} shown${done ? "" : " (more below)"}`;
  }

  async function loadPage() {
    if (loading || done) return;
    loading = true;
    const mine = generation;
    try {
      const page = await api("GET", "/items", { params: { limit: PAGE, cursor, ...filters() } });
      if (mine !== generation) return;
      page.items.forEach((item) => put(item));
      cursor = page.next_cursor;
      done = !cursor;
      moreButton.hidden = done;
      showCount();
    } catch (err) {
      announce(`Could not load items: ${err.message}`, "error");
    } finally {
      loading = false;
    }
    if (!done && sentinel.getBoundingClientRect().top < innerHeight + 400) loadPage();
  }

  function reload() {
    generation += 1;
    items.clear();
    clear(grid);
    cursor = null;
    done = false;
    loading = false;
    loadPage();
  }

  /** Live updates: the items still moving through the pipeline, refreshed until final. */
  async function poll() {
    const active = [...items.values()].filter((i) => moving(i));
    try {
      if (active.length) {
        const order = [...items.keys()];
        const deepest = Math.max(...active.map((i) => order.indexOf(i.item_id)));
        const mine = generation;
        if (deepest < 100) {
          const page = await api("GET", "/items", { params: { limit: Math.max(deepest + 1, 10), ...filters() } });
          if (mine === generation) page.items.forEach((item) => (items.has(item.item_id) ? put(item) : put(item, { prepend: true })));
        }
        const missing = active.filter((i) => items.get(i.item_id).status === i.status).slice(0, 10);
        for (const item of deepest < 100 ? [] : missing) put(await api("GET", `/items/${encodeURIComponent(item.item_id)}`));
      }
    } catch (err) {
      if (err.status !== 401) announce(`Refreshing failed: ${err.message}`, "error");
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  async function uploadOne(file) {
    const progress = h("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` });
    const state = h("span", { class: "muted" }, "starting");
    uploads.append(h("li", {}, h("span", { class: "filename" }, file.name), progress, state));
    if (!ACCEPTED.has(file.type)) {
      state.textContent = "not uploaded: only JPEG and PNG images are accepted";
      progress.remove();
      return;
    }
    try {
      const created = await api("POST", "/items", { body: { filename: file.name, content_type: file.type } });
      put({ item_id: created.item_id, filename: file.name, status: created.status, thumbnail_url: null,
        created_at: new Date().toISOString() }, { prepend: true });
      state.textContent = "uploading";
      await uploadFile(created.upload, file, (fraction) => { progress.value = fraction; });
      progress.value = 1;
      state.textContent = "uploaded";
      put({ ...items.get(created.item_id), status: "processing" });
    } catch (err) {
      state.textContent = `failed: ${err.message}`;
    }
  }

  async function startUploads(files) {
    if (!files.length) return;
    announce(`Uploading ${files.length} file${files.length === 1 ? "" : "s"}`);
    const queue = [...files];
    const workers = Array.from({ length: Math.min(3, queue.length) }, async () => {
      while (queue.length) await uploadOne(queue.shift());
    });
    await Promise.all(workers);
    announce("Uploads finished; the gallery updates as each image is processed");
  }

  const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadPage(), { rootMargin: "400px" });
  observer.observe(sentinel);
  loadPage();
  timer = setTimeout(poll, POLL_MS);
  return () => { stopped = true; observer.disconnect(); clearTimeout(timer); generation += 1; };
}
