// Staff accounts and the audit trail: a library's administrators manage its staff (GraphQL),
// the office manages its own and creates a library's first administrator (REST /admin);
// both see who did what and when.
import { gql, rest } from "./api.js";
import { h, fill, field, form, pager, table, newKey } from "./dom.js";
import { t, dateTime } from "./i18n.js";

export const LIBRARY_ROLES = ["cataloguer", "circulation", "acquisitions", "ill", "inventory",
  "library-admin"];
const USER = "username displayName roles status createdAt";
const STAFF = `{ staffUsers { ${USER} } }`;
const CREATE = `mutation Create($input: CreateStaffUserInput!) { createStaffUser(input: $input) { staffUser { ${USER} } } }`;
const DISABLE = `mutation Disable($input: StaffUserInput!) { disableStaffUser(input: $input) { staffUser { ${USER} } } }`;
const ENABLE = `mutation Enable($input: StaffUserInput!) { enableStaffUser(input: $input) { staffUser { ${USER} } } }`;
const RESET = `mutation Reset($input: ResetStaffPasswordInput!) { resetStaffPassword(input: $input) { staffUser { ${USER} } } }`;
const LIBRARY_HISTORY = `query History($first: Int!, $before: Int) { libraryHistory(first: $first, before: $before) {
  entries { position at actor operation aggregate event } nextBefore } }`;

/** What an account section needs: the library's GraphQL, or the office's REST. */
const graphqlAccounts = {
  list: async () => (await gql(STAFF)).staffUsers,
  create: (v) => gql(CREATE, { input: { username: v.username, displayName: v.displayName,
    roles: v.roles, password: v.password, idempotencyKey: newKey() } }),
  disable: (username) => gql(DISABLE, { input: { username, idempotencyKey: newKey() } }),
  enable: (username) => gql(ENABLE, { input: { username, idempotencyKey: newKey() } }),
  reset: (username, password) => gql(RESET, { input: { username, password, idempotencyKey: newKey() } }),
  roles: LIBRARY_ROLES,
};

/** The office's REST for the staff of `slug` (`office`: its own). */
export function restAccounts(slug, roles) {
  const base = slug === "office" ? "/admin/staff" : `/admin/tenants/${encodeURIComponent(slug)}/staff`;
  const each = `/admin/tenants/${encodeURIComponent(slug)}/staff`;
  const shaped = (u) => ({ ...u, displayName: u.display_name, createdAt: u.created_at });
  const post = (path, json) => rest("POST", path, { json, headers: { "Idempotency-Key": newKey() } });
  return {
    list: async () => (await rest("GET", base)).map(shaped),
    create: (v) => post(base, { username: v.username, display_name: v.displayName,
      roles: v.roles, password: v.password }),
    disable: (username) => post(`${each}/${encodeURIComponent(username)}/disable`),
    enable: (username) => post(`${each}/${encodeURIComponent(username)}/enable`),
    reset: (username, password) => post(`${each}/${encodeURIComponent(username)}/reset-password`, { password }),
    roles,
  };
}

/** Tags an error with the field it names (the service names username, roles, password...). */
function onField(fallback) {
  return (error) => {
    const named = /\b(username|password|roles|display)/i.exec(error.serverMessage || "");
    error.field = named ? { display: "displayName" }[named[1].toLowerCase()] || named[1].toLowerCase()
      : fallback;
    throw error;
  };
}

/** A section listing staff accounts with their actions, a form to create one and one to
 * reset a password. */
export async function accounts(accountsApi, headingId, changed = async () => {}) {
  const section = h("section", { "aria-labelledby": headingId });
  const render = async (done = "") => {
    if (done) await changed();
    const users = await accountsApi.list();
    const rows = users.map((u) => {
      const enabled = u.status === "active";
      const toggle = h("button", { type: "button", class: "secondary" },
        t(enabled ? "staff.disable" : "staff.enable", { username: u.username }));
      toggle.addEventListener("click", async () => {
        await (enabled ? accountsApi.disable(u.username) : accountsApi.enable(u.username));
        await render(t(enabled ? "staff.disabled" : "staff.enabled", { username: u.username }));
      });
      return [u.username, u.displayName, u.roles.join(" "), t(`staff.status.${u.status}`),
        dateTime(u.createdAt), toggle];
    });
    const fields = {
      username: field(t("staff.username"), { required: true, autocomplete: "off" }),
      displayName: field(t("staff.display"), { required: true, autocomplete: "off" }),
      password: field(t("staff.password"), { required: true, type: "password", autocomplete: "new-password" },
        t("staff.password.hint")),
    };
    const boxes = accountsApi.roles.map((role) => h("input", { type: "checkbox", value: role,
      id: `${headingId}-role-${role}`, checked: accountsApi.roles.length === 1 }));
    const rolesError = h("p", { id: `${headingId}-roles-error`, class: "field-error", "aria-live": "polite" });
    const roles = h("fieldset", { class: "roles", "aria-describedby": rolesError.id },
      h("legend", {}, t("staff.roles")),
      boxes.map((box) => h("label", { for: box.id, class: "check" }, box, ` ${t(`role.${box.value}`)}`)),
      rolesError);
    roles.showError = (message) => { rolesError.textContent = message || ""; };
    roles.input = boxes[0];
    roles.value = () => boxes.filter((b) => b.checked).map((b) => b.value);
    const create = form(t("staff.create"), { ...fields, roles }, t("staff.create"), async (values) => {
      if (!values.roles.length) throw Object.assign(new Error(t("staff.roles.none")), { field: "roles" });
      await accountsApi.create(values).catch(onField("username"));
      await render(t("staff.created", { username: values.username }));
    });
    const resetFields = {
      username: field(t("staff.resetWho"), { tag: "select",
        options: users.map((u) => [u.username, `${u.username} (${u.displayName})`]) }),
      password: field(t("staff.newPassword"), { required: true, type: "password", autocomplete: "new-password" },
        t("staff.password.hint")),
    };
    const reset = form(t("staff.reset"), resetFields, t("staff.reset"), async (values) => {
      await accountsApi.reset(values.username, values.password).catch(onField("password"));
      resetFields.password.input.value = "";
      return t("staff.wasReset", { username: values.username });
    });
    fill(section, h("h3", { id: headingId, tabindex: "-1" }, t("staff.title")),
      h("p", { role: "status", "aria-live": "polite", class: "form-status" }, done),
      table(t("staff.title"), [t("staff.col.username"), t("col.name"), t("staff.col.roles"), t("col.status"),
        t("col.created"), t("col.actions")], rows),
      h("div", { class: "desk" },
        h("div", { class: "card" }, h("h4", {}, t("staff.create")), create),
        users.length ? h("div", { class: "card" }, h("h4", {}, t("staff.reset")), reset) : null));
  };
  await render();
  return section;
}

/** Who did what and when: a page of history entries, older ones on demand. */
export async function history(title, load) {
  const body = h("tbody", {});
  let before = null;
  const more = async () => {
    const page = await load(before);
    for (const e of page.entries) {
      body.append(h("tr", {}, h("td", {}, dateTime(e.at)), h("td", {}, e.actor || t("history.unknown")),
        h("td", {}, e.operation || ""), h("td", {}, `${e.aggregate} · ${e.event}`)));
    }
    before = page.nextBefore ?? page.next_before ?? null;
    return before !== null;
  };
  const again = await more();
  return h("section", { class: "history" }, h("table", {}, h("caption", {}, title),
    h("thead", {}, h("tr", {}, [t("history.when"), t("history.who"), t("history.operation"),
      t("history.what")].map((text) => h("th", { scope: "col" }, text)))), body),
  again ? pager(more) : null);
}

/** The library's staff page (its administrators, scope library:admin). */
export async function page(main) {
  const load = async (before) => (await gql(LIBRARY_HISTORY, { first: 20, before })).libraryHistory;
  let trail = await history(t("history.library"), load);
  const again = async () => { trail.replaceWith(trail = await history(t("history.library"), load)); };
  fill(main, h("h2", { tabindex: "-1" }, t("nav.staff")),
    await accounts(graphqlAccounts, "library-staff", again), trail);
}
