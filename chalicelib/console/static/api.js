// The API client: bearer token, JSON, Idempotency-Key, 401 -> sign-in (keeping the page).
import { uuid } from "./dom.js";

/** The API's root: this file lives at <root>console/api.js (root is "/" or "/api/" etc.). */
export const API_ROOT = new URL("../", import.meta.url);
const TOKEN_KEY = "console.token";
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error;
    super((error && error.message) || (body && body.message) || `request failed (${status})`);
    this.status = status;
    this.field = error && error.field;
  }
}

export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export function apiUrl(path) {
  return new URL(path.replace(/^\//, ""), API_ROOT).href;
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The token's claims (not verified: the API does that); null when absent or unreadable. */
export function tokenClaims(token = getToken()) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return null;
  }
}

export function tokenExpired(token = getToken()) {
  const claims = tokenClaims(token);
  return !claims || typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now();
}

/** Call the API; JSON in and out. `idempotent: true` sends a fresh Idempotency-Key. */
export async function api(method, path, { body, idempotent = false, auth = true, params } = {}) {
  const headers = { Accept: "application/json" };
  if (auth) {
    const token = getToken();
    if (!token || tokenExpired(token)) {
      onUnauthorized("Your session has expired; sign in again.");
      throw new ApiError(401, { message: "Unauthorized" });
    }
    headers.Authorization = `Bearer ${token}`;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotent) headers["Idempotency-Key"] = uuid();
  const url = new URL(apiUrl(path));
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.status === 401 && auth) {
    onUnauthorized("Your session has expired; sign in again.");
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** PUT a file to a presigned URL with XHR (fetch has no upload progress). */
export function uploadFile(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method || "PUT", upload.url);
    for (const [k, v] of Object.entries(upload.headers || {})) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => e.lengthComputable && onProgress(e.loaded / e.total));
    xhr.addEventListener("load", () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`upload failed (${xhr.status})`))));
    xhr.addEventListener("error", () => reject(new Error("upload failed (network)")));
    xhr.send(file);
  });
}
