// The console's shell: config, sign-in, hash routes, navigation recorded as activity.
import { api, apiUrl, getToken, setToken, setUnauthorizedHandler, tokenClaims, tokenExpired } from "./api.js";
import { finishCognito, signInView } from "./auth.js";
import { announce, clear, fill, h } from "./dom.js";

const ROUTES = {
  collection: () => import("./collection.js"),
  items: () => import("./item.js"),
  search: () => import("./search.js"),
  tasks: () => import("./tasks.js"),
  pages: () => import("./pages.js"),
  ops: () => import("./ops.js"),
  outbox: () => import("./outbox.js"),
};
const TITLES = { collection: "Collection", items: "Item", search: "Search", tasks: "Tasks", pages: "Pages", ops: "Operations", outbox: "Outbox" };

let config = null;
let cleanup = null;
let signInReason = null;

function route() {
  const hash = location.hash.startsWith("#/") ? location.hash.slice(2) : "collection";
  const decode = (part) => { try { return decodeURIComponent(part); } catch { return part; } };
  const [name, ...rest] = hash.split("?")[0].split("/").map(decode);
  return { name: name || "collection", params: rest.filter(Boolean), hash: location.hash || "#/collection" };
}

function main() {
  return document.getElementById("main");
}

function setNav(current) {
  for (const a of document.querySelectorAll("nav a[data-route]")) {
    if (a.dataset.route === current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const claims = tokenClaims();
  const who = document.getElementById("who");
  who.textContent = claims && !tokenExpired() ? `Signed in as ${claims.sub}` : "";
  document.getElementById("signout").hidden = !claims;
}

/** Record the user's own navigation (ambient pages learn from it); never blocks the view. */
function recordActivity(name, hash) {
  api("POST", "/activity", { body: { page: name, action: "view", metadata: { route: hash.slice(0, 200) } }, idempotent: true })
    .catch(() => {});
}

function showSignIn(reason) {
  if (cleanup) cleanup();
  cleanup = null;
  const returnTo = location.hash && location.hash !== "#/signin" ? location.hash : "#/collection";
  setNav(null);
  document.title = "Sign in · console";
  fill(main(), signInView(config, {
    reason,
    returnTo,
    done: (back) => {
      signInReason = null;
      announce("Signed in");
      if (location.hash === back) render();
      else location.hash = back;
    },
  }));
  main().querySelector("input, textarea, button")?.focus();
}

async function render() {
  if (cleanup) cleanup();
  cleanup = null;
  if (!getToken() || tokenExpired()) {
    if (getToken()) signInReason = "Your session has expired; sign in again.";
    setToken(null);
    return showSignIn(signInReason);
  }
  const { name, params, hash } = route();
  const loader = ROUTES[name];
  setNav(name === "items" ? "collection" : name === "outbox" ? "ops" : name);
  const root = clear(main());
  if (!loader) {
    root.append(h("h1", {}, "Not found"), h("p", {}, `There is no console page "${name}".`));
    return;
  }
  document.title = `${TITLES[name]} · console`;
  const view = await loader();
  if (route().hash !== hash) return; // navigated away while loading
  const stop = view.render(root, { config, params, navigate: (to) => { location.hash = to; } });
  cleanup = typeof stop === "function" ? stop : null;
  recordActivity(name === "items" ? "item" : name === "tasks" && params.length ? "task" : name, hash);
  root.querySelector("h1")?.setAttribute("tabindex", "-1");
}

async function start() {
  document.getElementById("skip").addEventListener("click", () => main().focus());
  document.getElementById("signout").addEventListener("click", () => {
    setToken(null);
    signInReason = "Signed out.";
    render();
  });
  const response = await fetch(apiUrl("/console/config.json"));
  config = await response.json();
  document.getElementById("stage").textContent = `stage ${config.stage}`;
  setUnauthorizedHandler((reason) => {
    setToken(null);
    signInReason = reason;
    showSignIn(reason);
  });
  try {
    const back = await finishCognito(config.cognito);
    if (back) location.hash = back;
  } catch (err) {
    signInReason = err.message;
  }
  window.addEventListener("hashchange", render); // the sign-in reason stays until a sign-in succeeds
  render();
}

start().catch((err) => announce(`The console failed to start: ${err.message}`, "error"));
