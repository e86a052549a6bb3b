// Operations. Local stage: the runtime's deliveries (outcome, retry), schedules (next run,
// fire now) and metric sums. AWS stages: links to the CloudWatch dashboard and alarms.
import { api } from "./api.js";
import { announce, fill, fmtTime, h, link } from "./dom.js";

function table(caption, columns, rows) {
  return h("table", {}, h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "none"))));
}

function awsLinks(root, config) {
  const links = config.aws_links || {};
  root.append(h("h1", {}, "Operations"),
    h("p", {}, `Stage ${config.stage} runs on AWS: its metrics, logs and alarms are in CloudWatch.`),
    h("ul", {}, h("li", {}, link("CloudWatch dashboard", links.dashboard)), h("li", {}, link("CloudWatch alarms", links.alarms))));
}

export function render(root, { config }) {
  if (!config.local) return awsLinks(root, config);
  const status = h("select", { id: "delivery-status" }, ["", "failed", "queued", "running", "succeeded"].map((s) => h("option", { value: s }, s || "any outcome")));
  const deliveries = h("div", {});
  const schedules = h("div", {});
  const metrics = h("div", {});
  let timer = null;

  async function loadDeliveries() {
    const data = await api("GET", "/local/deliveries", { params: { status: status.value, limit: 50 } });
    const counts = Object.entries(data.counts || {}).map(([k, v]) => `${k} ${v}`).join(" · ");
    fill(deliveries, h("p", { class: "muted" }, counts), table("Deliveries (newest first)",
      ["when", "kind", "handler", "outcome", "attempts", "reason", ""],
      data.deliveries.map((d) => h("tr", { "data-delivery-id": d.id },
        h("td", {}, fmtTime(d.created_at)), h("td", {}, d.kind), h("td", {}, d.target),
        h("td", {}, h("span", { class: `badge status-${d.status}` }, d.status)), h("td", {}, `${d.attempts}/${d.max_attempts}`),
        h("td", {}, d.reason ? h("details", {}, h("summary", {}, d.reason), h("pre", {}, d.error || "")) : ""),
        h("td", {}, d.status === "failed" ? h("button", { type: "button", onclick: async () => {
          try {
            await api("POST", `/local/deliveries/${encodeURIComponent(d.id)}/retry`, { body: {} });
            announce(`Delivery to ${d.target} queued again`);
            loadDeliveries();
          } catch (err) { announce(err.message, "error"); }
        } }, `Retry ${d.target}`) : "")))));
  }

  async function loadSchedules() {
    const data = await api("GET", "/local/schedules");
    fill(schedules, table("Schedules", ["name", "expression", "last run", "next run", ""],
      data.schedules.map((s) => h("tr", {}, h("td", {}, s.name), h("td", {}, s.expression), h("td", {}, fmtTime(s.last_fire_at) || "never"),
        h("td", {}, fmtTime(s.next_fire_at)),
        h("td", {}, h("button", { type: "button", onclick: async () => {
          try {
            await api("POST", `/local/schedules/${encodeURIComponent(s.name)}/fire`, { body: {} });
            announce(`${s.name} fired: see its delivery below`);
            clearTimeout(timer);
            timer = setTimeout(refresh, 800);
          } catch (err) { announce(err.message, "error"); }
        } }, `Fire ${s.name} now`))))));
  }

  async function loadMetrics() {
    const data = await api("GET", "/local/metrics", { params: { since: 60 } });
    fill(metrics, table("Metrics, last 60 minutes", ["metric", "dimensions", "count", "sum", "p50", "p99"],
      data.metrics.map((m) => h("tr", {}, h("td", {}, m.metric),
        h("td", {}, Object.entries(m.dimensions || {}).map(([k, v]) => `${k}=${v}`).join(", ")),
        h("td", {}, String(m.count)), h("td", {}, String(m.sum)),
        h("td", {}, m.p50 === undefined ? "" : `${m.p50} ${m.unit}`), h("td", {}, m.p99 === undefined ? "" : `${m.p99} ${m.unit}`)))));
  }

  async function refresh() {
    try {
      await Promise.all([loadDeliveries(), loadSchedules(), loadMetrics()]);
    } catch (err) {
      if (err.status !== 401) announce(`Could not load operations: ${err.message}`, "error");
    }
  }

  status.addEventListener("change", () => loadDeliveries().catch((err) => announce(err.message, "error")));
  root.append(h("h1", {}, "Operations (local runtime)"),
    h("p", {}, h("button", { type: "button", class: "secondary", onclick: refresh }, "Refresh"), " ",
      link("E-mail outbox", "#/outbox")),
    h("section", { "aria-labelledby": "sched-title" }, h("h2", { id: "sched-title" }, "Schedules"), schedules),
    h("section", { "aria-labelledby": "deliv-title" }, h("h2", { id: "deliv-title" }, "Deliveries"),
      h("label", { for: "delivery-status" }, "Show "), status, deliveries),
    h("section", { "aria-labelledby": "metrics-title" }, h("h2", { id: "metrics-title" }, "Metrics"), metrics));
  refresh();
  return () => clearTimeout(timer);
}
