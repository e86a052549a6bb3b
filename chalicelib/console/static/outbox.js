// The local outbox (local stage): the e-mails `make run` sent instead of SES, newest first.
// Bodies quote the user's task and come back from strangers' replies: text only.
import { api } from "./api.js";
import { announce, fill, fmtTime, h, link } from "./dom.js";

export function render(root, { config }) {
  const list = h("div", { class: "outbox" });
  root.append(h("h1", {}, "Outbox"),
    h("p", { class: "muted" }, "E-mails the local stage sent (files in .local/outbox/, also listed by make outbox). ",
      "A vendor's link opens the quote form the vendor would see."),
    list);
  if (!config.local) {
    fill(list, h("p", {}, "The outbox exists only in the local stage; AWS stages send through Amazon SES."));
    return;
  }
  api("GET", "/local/outbox", { params: { limit: 100 } }).then(({ messages }) => {
    fill(list, messages.length ? messages.map((m) => h("article", { class: "card email", "data-file": m.file },
      h("h2", {}, m.subject),
      h("p", { class: "muted" }, `To ${m.to} · ${fmtTime(m.date)}`),
      h("pre", { class: "email-body" }, m.body),
      m.links.length ? h("ul", {}, m.links.map((href) => h("li", {}, link(href, href, { class: "email-link" })))) : null))
      : h("p", { class: "muted" }, "No e-mails yet: create a task that names a trade and an area (for example a plumber in Austin)."));
  }).catch((err) => announce(`Could not read the outbox: ${err.message}`, "error"));
}
