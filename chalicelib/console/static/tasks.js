// Tasks: create one, watch its timeline live, see vendors, quotes and e-mails as recorded.
// The agent's answer and vendors' notes are untrusted: text only, links only http(s).
import { api, apiUrl } from "./api.js";
import { announce, fill, fmtTime, h, link, valueTree } from "./dom.js";

const POLL_MS = 1000;
const QUOTE_POLL_MS = 3000;
const FINAL = new Set(["completed", "error"]);
const VENDOR_FIELDS = ["name", "trades", "areas", "email", "phone", "website", "source", "status", "emailed_at", "notes"];
const INTERNAL = new Set(["id", "vendor_id", "quote_request_id"]); // ids that mean nothing to a reader
const QUOTE_FIELDS = ["vendor", "price", "amount", "currency", "note", "notes", "received_at"];

/** A table of objects: known fields as columns, anything else in a details cell. */
function objectTable(rows, fields, caption) {
  const present = fields.filter((f) => rows.some((r) => r && typeof r === "object" && r[f] !== undefined && r[f] !== null));
  const extra = (r) => Object.fromEntries(Object.entries(r || {}).filter(([k]) => !present.includes(k) && !INTERNAL.has(k)));
  const hasExtra = rows.some((r) => r && typeof r === "object" && Object.keys(extra(r)).length);
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, present.map((f) => h("th", { scope: "col" }, f)), hasExtra ? h("th", { scope: "col" }, "more") : null)),
    h("tbody", {}, rows.map((r) => h("tr", {},
      present.map((f) => h("td", {}, cell(f, r && r[f]))),
      hasExtra ? h("td", {}, valueTree(extra(r))) : null))));
}

function cell(field, value) {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(", ");
  if (typeof value === "object") return valueTree(value);
  if (field === "website") return link(String(value), String(value));
  if (field.endsWith("_at")) return fmtTime(String(value));
  return String(value);
}

function emailsView(emails) {
  if (typeof emails === "number") return h("p", {}, `${emails} e-mail${emails === 1 ? "" : "s"} sent`);
  if (!Array.isArray(emails) || !emails.length) return h("p", { class: "muted" }, "No e-mails sent.");
  return h("ul", { class: "emails" }, emails.map((m) => h("li", { class: "card" },
    m && typeof m === "object"
      ? [h("p", {}, h("strong", {}, "To: "), String(m.to ?? "")), m.subject ? h("p", {}, h("strong", {}, "Subject: "), String(m.subject)) : null,
        m.body ? h("pre", { class: "email-body" }, String(m.body)) : null,
        Object.keys(m).some((k) => !["to", "subject", "body"].includes(k))
          ? valueTree(Object.fromEntries(Object.entries(m).filter(([k]) => !["to", "subject", "body"].includes(k)))) : null]
      : String(m))));
}

function outboxLink(config) {
  return config.local ? h("p", {}, link("Open the local outbox (the e-mails sent for this task)", "#/outbox")) : null;
}

function taskDetail(root, id, config) {
  let timer = null;
  let stopped = false;
  let announced = false;
  let last = null;
  const body = h("div", { class: "task" });
  root.append(h("p", {}, link("← Tasks", "#/tasks")), h("h1", {}, "Task"), body);

  async function refresh() {
    let task;
    try {
      task = await api("GET", `/tasks/${encodeURIComponent(id)}`);
    } catch (err) {
      fill(body, h("p", { class: "error" }, err.status === 404 ? "No such task." : err.message));
      return;
    }
    const awaiting = Array.isArray(task.vendors) && task.vendors.some((v) => v && v.status === "sent");
    const schedule = () => {
      // Quotes arrive after the agent is done (vendors answer their e-mails): keep watching for them.
      if (!stopped && (!FINAL.has(task.status) || awaiting)) timer = setTimeout(refresh, FINAL.has(task.status) ? QUOTE_POLL_MS : POLL_MS);
    };
    const snapshot = JSON.stringify(task);
    if (snapshot === last) return schedule(); // unchanged: keep the DOM (and the keyboard focus) as it is
    last = snapshot;
    const events = Array.isArray(task.events) ? task.events : [];
    fill(body,
      h("p", { class: "description" }, task.description),
      h("p", {}, "Status: ", h("span", { class: `badge status-${task.status}`, "data-testid": "task-status" }, task.status),
        task.provider_used ? h("span", { class: "muted" }, ` · ${task.provider_used}`) : null),
      h("section", { "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"),
        h("ol", { class: "timeline" }, events.map((e) => h("li", { class: `event-${e.type}` },
          h("time", { datetime: e.ts }, fmtTime(e.ts)), " ", h("span", { class: "badge" }, e.type), " ", e.message)))),
      task.error_message ? h("p", { class: "error" }, task.error_message) : null,
      task.agent_response ? h("section", { "aria-labelledby": "answer-title" }, h("h2", { id: "answer-title" }, "Answer"),
        h("p", { class: "agent-response" }, task.agent_response)) : null,
      Array.isArray(task.vendors) && task.vendors.length ? objectTable(task.vendors, VENDOR_FIELDS, "Vendors") : null,
      Array.isArray(task.quotes) && task.quotes.length ? objectTable(task.quotes, QUOTE_FIELDS, "Quotes") : null,
      task.emails_sent !== undefined ? h("section", { "aria-labelledby": "emails-title" }, h("h2", { id: "emails-title" }, "E-mails"),
        emailsView(task.emails_sent), outboxLink(config)) : null);
    if (FINAL.has(task.status) && !announced) { announce(`Task ${task.status}`); announced = true; }
    schedule();
  }

  refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function taskList(root, navigate) {
  const description = h("textarea", { id: "task-description", rows: 3, required: true, maxlength: 4000 });
  const list = h("ul", { class: "task-list" });
  root.append(h("h1", {}, "Tasks"),
    h("form", { class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const text = description.value.trim();
      if (!text) return;
      try {
        const created = await api("POST", "/tasks", { body: { description: text }, idempotent: true });
        announce("Task created; the agent is working on it");
        navigate(`#/tasks/${encodeURIComponent(created.id)}`);
      } catch (err) {
        announce(`Could not create the task: ${err.message}`, "error");
      }
    } }, h("label", { for: "task-description" }, "What should the agent do?"), description,
    h("button", { type: "submit" }, "Create task")),
    h("h2", {}, "Your tasks"), list);
  api("GET", "/tasks", { params: { limit: 50 } }).then(({ tasks }) => {
    list.append(...(tasks.length ? tasks.map((t) => h("li", {},
      link(t.description.length > 120 ? `${t.description.slice(0, 120)}…` : t.description, `#/tasks/${encodeURIComponent(t.id)}`),
      " ", h("span", { class: `badge status-${t.status}` }, t.status), " ", h("span", { class: "muted" }, fmtTime(t.created_at))))
      : [h("li", { class: "muted" }, "No tasks yet.")]));
  }).catch((err) => announce(err.message, "error"));
}

export function render(root, { params, navigate, config }) {
  if (params[0]) return taskDetail(root, params[0], config);
  return taskList(root, navigate);
}
