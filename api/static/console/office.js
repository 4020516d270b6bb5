// The consortium office: member libraries (register, suspend, reactivate, archive), their
// API clients and first staff, and the event pipeline's health.
import { rest } from "./api.js";
import { h, fill, field, form, pager, table, newKey } from "./dom.js";
import { t, dateTime, number } from "./i18n.js";
import { accounts, history, restAccounts } from "./staff.js";

const PAGE = 20;

function statusText(status) {
  return t(`status.${status}`);
}

export async function libraries(main) {
  const tenants = await rest("GET", "/admin/tenants");
  const body = h("tbody", {});
  const list = h("table", {}, h("caption", {}, t("libs.title")),
    h("thead", {}, h("tr", {}, [t("col.slug"), t("col.name"), t("col.status"), t("col.actions")]
      .map((text) => h("th", { scope: "col" }, text)))), body);
  let shown = 0;
  const more = () => {
    for (const tenant of tenants.slice(shown, shown + PAGE)) {
      body.append(h("tr", {}, h("td", {}, tenant.slug), h("td", {}, tenant.name),
        h("td", {}, statusText(tenant.status)),
        h("td", {}, h("a", { href: `#/library/${encodeURIComponent(tenant.slug)}` },
          t("libs.manage", { name: tenant.name })))));
    }
    shown += PAGE;
    return shown < tenants.length;
  };
  const fields = {
    slug: field(t("libs.slug"), { required: true, autocomplete: "off", pattern: "[a-z0-9-]{2,40}" },
      t("libs.slug.hint")),
    name: field(t("libs.name"), { required: true }),
    isil: field(t("libs.isil"), {}),
  };
  const create = form(t("libs.create"), fields, t("libs.register"), async (values) => {
    const created = await rest("POST", "/admin/tenants", {
      json: { slug: values.slug, name: values.name, isil: values.isil || null },
      headers: { "Idempotency-Key": newKey() },
    }).catch(withField("slug"));
    window.location.hash = `#/library/${encodeURIComponent(created.slug)}`;
    return t("libs.created", { name: created.name });
  });
  fill(main, h("h2", { tabindex: "-1" }, t("libs.title")),
    h("section", { "aria-labelledby": "create-library" },
      h("h3", { id: "create-library" }, t("libs.create")), create),
    list, more() ? pager(async () => more()) : null);
}

/** Tags an API error with the form field it concerns (by the name the server gives). */
function withField(fallback) {
  return (error) => {
    const named = /\b(slug|name|isil|username|password|roles|scopes|reason)\b/i
      .exec(error.serverMessage || "");
    error.field = named ? named[1].toLowerCase() : fallback;
    throw error;
  };
}

/** A library as the office manages it; `done` announces what was just done. */
export async function library(main, slug, done = "") {
  const tenant = await rest("GET", `/admin/tenants/${encodeURIComponent(slug)}`);
  const state = h("p", {}, `${tenant.name}: ${statusText(tenant.status)}`
    + (tenant.suspension_reason ? ` — ${tenant.suspension_reason}` : ""));
  const act = (path, json) => async () => {
    const now = await rest("POST", `/admin/tenants/${encodeURIComponent(slug)}/${path}`,
      { json, headers: { "Idempotency-Key": newKey() } });
    await library(main, slug, t("lib.now", { name: now.name, status: statusText(now.status) }));
  };
  const suspend = form(t("lib.suspend"), { reason: field(t("lib.reason"), { required: true }) },
    t("lib.suspend"), async (values) => {
      await act("suspend", { reason: values.reason })();
    });
  const reactivate = h("button", { type: "button" }, t("lib.reactivate"));
  reactivate.addEventListener("click", act("reactivate"));
  const archive = form(t("lib.archive"), {
    confirm: field(t("lib.confirm", { slug }), { required: true, autocomplete: "off" },
      t("lib.archive.warn")),
  }, t("lib.archive"), async (values) => {
    if (values.confirm !== slug) throw Object.assign(new Error(t("confirm.mismatch", { expected: slug })), { field: "confirm" });
    await act("archive")();
  });
  fill(main, h("h2", { tabindex: "-1" }, tenant.name),
    h("p", { role: "status", "aria-live": "polite", class: "form-status" }, done), state,
    h("section", { "aria-label": t("col.status") },
      tenant.status === "active" ? suspend : null,
      tenant.status === "suspended" ? reactivate : null,
      tenant.status !== "archived" ? archive : null),
    await accounts(restAccounts(slug, ["library-admin"]), "library-admins"),
    await clientsSection(slug), await tenantHistory(slug, t("history.library")));
}

async function clientsSection(slug) {
  const path = `/admin/tenants/${encodeURIComponent(slug)}/clients`;
  const clients = await rest("GET", path);
  const section = h("section", { "aria-labelledby": "clients-title" });
  const rows = clients.map((c) => {
    const revoke = h("button", { type: "button", class: "secondary" }, t("clients.revoke", { id: c.client_id }));
    revoke.addEventListener("click", async () => {
      await rest("DELETE", `${path}/${encodeURIComponent(c.client_id)}`);
      fill(section, ...(await clientsSection(slug)).childNodes);
      section.querySelector("[role=status]").textContent = t("clients.revoked", { id: c.client_id });
    });
    return [c.client_id, c.name, c.scopes.join(" "), dateTime(c.created_at),
      dateTime(c.last_token_at), c.revoked ? t("clients.isRevoked") : revoke];
  });
  const fields = {
    name: field(t("clients.name"), { required: true }),
    scopes: field(t("clients.scopes"), { required: true, value: "library:read library:write" }),
  };
  const issue = form(t("clients.issue"), fields, t("clients.issue"), async (values) => {
    const issued = await rest("POST", path, { json: { name: values.name,
      scopes: values.scopes.split(/\s+/).filter(Boolean) } }).catch(withField("scopes"));
    return t("clients.secret", { id: issued.client_id, secret: issued.client_secret });
  });
  fill(section, h("h3", { id: "clients-title" }, t("clients.title")),
    h("p", { role: "status", "aria-live": "polite" }),
    table(t("clients.title"), [t("col.clientId"), t("col.name"), t("col.scopes"), t("col.created"),
      t("col.lastToken"), t("col.actions")], rows), issue);
  return section;
}

/** The pipeline's figures from /metrics (Prometheus text): lag and parked events. */
function parseMetrics(text) {
  const rows = new Map();
  const parked = [];
  for (const line of text.split("\n")) {
    const match = /^(commonshelf_projection_(?:position|lag_events|events_parked_total))\{([^}]*)\} (\S+)/
      .exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const key = `${labels.projection}\u0000${labels.tenant}`;
    const row = rows.get(key) || { projection: labels.projection, tenant: labels.tenant, position: 0, lag: 0 };
    const value = Number(match[3]);
    if (match[1].endsWith("position")) row.position = value;
    else if (match[1].endsWith("lag_events")) row.lag = value;
    else if (value > 0) parked.push({ ...labels, count: value });
    rows.set(key, row);
  }
  return { rows: [...rows.values()], parked };
}

export async function pipeline(main) {
  const { rows, parked } = parseMetrics(await rest("GET", "/metrics", { as: "text" }));
  const behind = rows.filter((r) => r.lag > 0);
  const refresh = h("button", { type: "button", class: "secondary" }, t("refresh"));
  refresh.addEventListener("click", () => pipeline(main));
  fill(main, h("h2", { tabindex: "-1" }, t("pipe.title")), refresh,
    h("p", { role: "status" }, behind.length ? t("pipe.behind", { n: number(behind.length) }) : t("pipe.uptodate")),
    table(t("pipe.title"), [t("col.readModel"), t("col.library"), t("col.position"), t("col.lag")],
      [...behind, ...rows.filter((r) => r.lag === 0)].slice(0, 200).map((r) =>
        [r.projection, r.tenant, number(r.position), number(r.lag)])),
    parked.length ? table(t("col.parked"), [t("col.readModel"), t("col.library"), t("col.parked")],
      parked.map((p) => [p.projection, p.tenant, number(p.count)]))
      : h("p", {}, t("pipe.parkedNone")));
}

function tenantHistory(slug, title) {
  return history(title, (before) => rest("GET", `/admin/tenants/${encodeURIComponent(slug)}/history`
    + `?first=20${before === null ? "" : `&before=${before}`}`));
}

/** The office's own staff and what happened in the office's log. */
export async function staff(main) {
  let trail = await tenantHistory("office", t("history.library"));
  const again = async () => { trail.replaceWith(trail = await tenantHistory("office", t("history.library"))); };
  fill(main, h("h2", { tabindex: "-1" }, t("staff.office")),
    await accounts(restAccounts("office", ["office-admin"]), "office-staff", again), trail);
}
