// Sign-in: "sign in as <name>" on the local stage (POST /local/token); Cognito's hosted UI with
// PKCE when the stage configures it; otherwise a pasted bearer token.
import { api, setToken, tokenExpired } from "./api.js";
import { h, announce } from "./dom.js";

const PKCE_KEY = "console.pkce";

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return location.origin + location.pathname;
}

/** Start Cognito's authorization-code flow with PKCE (S256). */
export async function startCognito(cognito, returnTo) {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo }));
  const url = new URL(`https://${cognito.domain}/oauth2/authorize`);
  for (const [k, v] of Object.entries({ response_type: "code", client_id: cognito.client_id, redirect_uri: redirectUri(),
    scope: "openid", state, code_challenge: challenge, code_challenge_method: "S256" })) url.searchParams.set(k, v);
  location.assign(url.href);
}

/** Back from the hosted UI with ?code&state: exchange the code (with the verifier) for tokens.
 * Returns the hash to go back to, or null when this page load is not such a return. */
export async function finishCognito(cognito) {
  const params = new URLSearchParams(location.search);
  if (!cognito || !params.has("code")) return null;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", location.pathname + (saved && saved.returnTo ? saved.returnTo : "#/collection"));
  if (!saved || saved.state !== params.get("state")) throw new Error("sign-in state did not match; try again");
  const response = await fetch(`https://${cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: cognito.client_id, code: params.get("code"),
      redirect_uri: redirectUri(), code_verifier: saved.verifier }),
  });
  if (!response.ok) throw new Error(`Cognito refused the code (${response.status})`);
  const tokens = await response.json();
  setToken(tokens.id_token);
  return saved.returnTo || "#/collection";
}

/** The sign-in form for this stage; calls done() once a usable token is stored. */
export function signInView(config, { reason, returnTo, done }) {
  const error = h("p", { class: "error", role: "alert" });
  const fail = (e) => { error.textContent = e.message || String(e); };
  const parts = [h("h1", {}, "Sign in"), reason ? h("p", { class: "notice", role: "status" }, reason) : null];
  if (config.local) {
    const input = h("input", { id: "signin-user", name: "user", autocomplete: "username", required: true,
      pattern: "[A-Za-z0-9_.@\\-]{1,64}", value: localStorage.getItem("console.lastUser") || "alice" });
    parts.push(h("form", { class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const user = input.value.trim();
        const answer = await api("POST", "/local/token", { body: { user }, auth: false });
        localStorage.setItem("console.lastUser", user);
        setToken(answer.token);
        done(returnTo);
      } catch (err) { fail(err); }
    } }, h("label", { for: "signin-user" }, "Sign in as (local stage: any name is a user)"), input,
    h("button", { type: "submit" }, "Sign in")));
  }
  if (config.cognito) {
    parts.push(h("button", { type: "button", class: config.local ? "secondary" : undefined,
      onclick: () => startCognito(config.cognito, returnTo).catch(fail) }, "Sign in with Cognito"));
  }
  if (!config.local) {
    const area = h("textarea", { id: "signin-token", rows: 3, spellcheck: "false" });
    parts.push(h("form", { class: "stack", onsubmit: (e) => {
      e.preventDefault();
      const token = area.value.trim().replace(/^Bearer\s+/i, "");
      if (tokenExpired(token)) return fail(new Error("that token is malformed or expired"));
      setToken(token);
      done(returnTo);
    } }, h("label", { for: "signin-token" }, config.cognito ? "…or paste a bearer token" : "Paste a bearer token (JWT)"), area,
    h("button", { type: "submit" }, "Use this token")));
  }
  parts.push(error);
  announce(reason || "Sign in to continue");
  return h("section", { class: "signin card" }, parts);
}
