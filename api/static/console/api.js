// The console is a client of the public API only: GraphQL at /graphql and REST, with the
// signed-in person's token.
import { renew, token } from "./session.js";
import { errorText } from "./i18n.js";

export class ApiError extends Error {
  constructor(code, message, field = null) {
    super(errorText(code, message));
    this.code = code;
    this.field = field;
    this.serverMessage = message;
  }
}

async function authorized(path, options, retry = true) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token()}` };
  const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  if (response.status === 401 && retry && await renew()) {
    return authorized(path, options, false);
  }
  if (response.status === 401) {
    document.dispatchEvent(new CustomEvent("console:signed-out"));
  }
  return response;
}

/** A GraphQL operation's data; ApiError (with extensions.code) when it fails. */
export async function gql(query, variables = {}) {
  const response = await authorized("/graphql", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => ({}));
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const code = (first.extensions && first.extensions.code)
      || (/Cannot query field/.test(first.message) ? "NOT_IN_SCHEMA" : "GRAPHQL");
    throw new ApiError(code, first.message);
  }
  if (!response.ok) throw new ApiError(`HTTP_${response.status}`, response.statusText);
  return body.data;
}

/** A REST call's JSON (or text when `as` is "text"); ApiError with the body's code. */
export async function rest(method, path, { json, body, headers = {}, as = "json" } = {}) {
  const options = { method, headers: { ...headers } };
  if (json !== undefined) {
    options.body = JSON.stringify(json);
    options.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    options.body = body;
  }
  const response = await authorized(path, options);
  if (!response.ok) {
    const failure = await response.json().catch(() => ({}));
    const detail = typeof failure.detail === "string" ? failure.detail
      : JSON.stringify(failure.detail || response.statusText);
    throw new ApiError(failure.code || `HTTP_${response.status}`, detail);
  }
  if (response.status === 204) return null;
  return as === "text" ? response.text() : response.json();
}

const known = new Map();

/** Whether a type of the service's schema has a field yet (pages and parts of pages for
 * features other releases add light up once it does). */
export async function hasField(type, name) {
  if (!known.has(type)) {
    const data = await gql("query Fields($type: String!) { __type(name: $type) { fields { name } } }",
      { type });
    known.set(type, new Set((data.__type?.fields || []).map((f) => f.name)));
  }
  return known.get(type).has(name);
}

export function hasQuery(name) {
  return hasField("Query", name);
}
