// Signing in: OAuth 2.0 authorization code with PKCE (the console is the public client
// `console`). The access token lives in this module's memory only; the refresh token is an
// HttpOnly cookie the service sets, so a reload restores the session without a password.
const CLIENT_ID = "console";
const REDIRECT_URI = "/";
const PENDING = "console.signin"; // sessionStorage: verifier and state for one round trip

let accessToken = null;
let renewTimer = null;

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

/** Goes to the service's sign-in page; it comes back to `/?code=..&state=..`. */
export async function signIn(lang) {
  const verifier = randomText(48);
  const state = randomText(24);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI,
    code_challenge: base64url(digest), code_challenge_method: "S256", state, lang,
  });
  window.location.assign(`/oauth/authorize?${query}`);
}

async function tokenRequest(form) {
  const response = await fetch("/oauth/token", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: CLIENT_ID, ...form }),
  });
  if (!response.ok) return null;
  const body = await response.json();
  accessToken = body.access_token;
  clearTimeout(renewTimer);
  const seconds = Math.max(10, Number(body.expires_in || 300) - 60);
  renewTimer = setTimeout(renew, seconds * 1000);
  return accessToken;
}

/** A new access token from the refresh cookie; null once the session is over. */
export async function renew() {
  return tokenRequest({ grant_type: "refresh_token" });
}

/** The session on page load: the code coming back from the sign-in page, else a renewal.
 * Throws if the sign-in page sent back an error or a state that is not ours. */
export async function restore() {
  const params = new URLSearchParams(window.location.search);
  if (params.has("code") || params.has("error")) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
    sessionStorage.removeItem(PENDING);
    window.history.replaceState(null, "", "/" + window.location.hash);
    if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
    if (!pending || pending.state !== params.get("state")) return null; // not our round trip
    return tokenRequest({ grant_type: "authorization_code", code: params.get("code"),
                          code_verifier: pending.verifier, redirect_uri: REDIRECT_URI });
  }
  return renew();
}

export function token() {
  return accessToken;
}

/** Ends the session on the service and forgets the token. */
export async function signOut() {
  clearTimeout(renewTimer);
  const held = accessToken;
  accessToken = null;
  await fetch("/oauth/logout", {
    method: "POST", credentials: "same-origin",
    headers: held ? { Authorization: `Bearer ${held}` } : {},
  });
}
