// The console's shell: the session, the header with the tenant's name and the language
// switch, the sections a library or the office has, and the hash router between pages.
import { gql, hasQuery } from "./api.js";
import { h, fill } from "./dom.js";
import { LANGUAGES, language, setLanguage, t } from "./i18n.js";
import { restore, signIn, signOut } from "./session.js";
import * as office from "./office.js";
import * as catalog from "./catalog.js";
import * as desk from "./desk.js";
import * as patrons from "./patrons.js";
import * as inventory from "./inventory.js";
import * as union from "./union.js";
import * as staff from "./staff.js";
import * as figures from "./figures.js";
import * as acquisition from "./acquisition.js";
import * as ill from "./ill.js";

const root = document.getElementById("console");
let viewer = null;

// Each section: its hash, label key, page, and the scope it needs (if not every staff
// member's). Pages of features other releases add say so until the service has them.
const OFFICE = [
  ["libraries", "nav.libraries", office.libraries],
  ["union", "nav.union", union.page],
  ["figures", "nav.figures", figures.page],
  ["acquisition", "nav.acquisition", acquisition.page],
  ["pipeline", "nav.pipeline", office.pipeline],
  ["staff", "nav.staff", office.staff],
];
const LIBRARY = [
  ["catalog", "nav.catalog", catalog.search],
  ["import", "nav.import", catalog.imports],
  ["desk", "nav.desk", desk.page],
  ["patrons", "nav.patrons", patrons.page],
  ["inventory", "nav.inventory", inventory.page],
  ["union", "nav.union", (main) => union.page(main, true)],
  ["ill", "nav.ill", ill.page],
  ["acquisitions", "nav.acquisitions", (main) => acquisition.page(main, t("nav.acquisitions"), true)],
  ["staff", "nav.staff", staff.page, "library:admin"],
];
const DETAIL = { library: office.library, record: catalog.record, scan: inventory.scan, desk: desk.page,
  entry: (main, id) => union.entry(main, id, Boolean(viewer.tenant)) };

/** The sections of the signed-in side that the person's scopes open. */
function sections() {
  return (viewer.tenant ? LIBRARY : OFFICE)
    .filter(([, , , scope]) => !scope || viewer.scopes.includes(scope));
}

/** Who is signed in: a staff user's name where the schema offers it, else the API client
 * (the console's own client id says nothing to a librarian). */
function who() {
  return viewer.displayName || viewer.username
    || (viewer.clientId !== "console" ? viewer.clientId : "");
}

function languageSwitch() {
  const select = h("select", { id: "language" },
    LANGUAGES.map(([code, name]) => h("option", { value: code, lang: code,
      selected: code === language() }, name)));
  select.addEventListener("change", () => {
    setLanguage(select.value);
    renderShell();
  });
  return h("div", { class: "language" }, h("label", { for: "language" }, t("lang.label")), select);
}

function renderShell() {
  const name = viewer.tenant ? viewer.tenant.name : t("office.name");
  const nav = h("nav", { "aria-label": t("nav.label") }, h("ul", {},
    sections().map(([hash, label]) => h("li", {}, h("a", { href: `#/${hash}` }, t(label))))));
  const signOutButton = h("button", { type: "button", class: "secondary" }, t("signout"));
  signOutButton.addEventListener("click", async () => {
    await signOut();
    signedOut(t("signedout"));
  });
  fill(root,
    h("a", { class: "skip", href: "#main", id: "skip" }, t("skip")),
    h("header", {},
      h("div", { class: "brand" }, h("p", { class: "product" }, "CommonShelf"),
        h("h1", { id: "tenant-name" }, name),
        who() ? h("p", { class: "who" }, t("signedin", { who: who() })) : null),
      languageSwitch(), signOutButton),
    nav,
    h("main", { id: "main", tabindex: "-1" }));
  document.getElementById("skip").addEventListener("click", (event) => {
    event.preventDefault();
    document.getElementById("main").focus();
  });
  route();
}

async function route() {
  const main = document.getElementById("main");
  if (!main) return;
  const [name, ...rest] = (window.location.hash.replace(/^#\/?/, "") || "").split("/");
  const param = rest.map(decodeURIComponent).join("/");
  const found = sections().find(([hash]) => hash === name);
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#/${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  fill(main, h("p", { role: "status" }, t("loading")));
  try {
    if (DETAIL[name] && param) {
      await DETAIL[name](main, param);
    } else if (!found) {
      window.location.replace(`#/${sections()[0][0]}`);
      return;
    } else {
      await found[2](main);
    }
  } catch (error) { // a page that cannot load says why, instead of "Loading…" for ever
    fill(main, h("h2", { tabindex: "-1" }, found ? t(found[1]) : t("app.title")),
      h("p", { role: "alert", class: "field-error" }, error.message));
  }
  const heading = main.querySelector("h2");
  if (heading && document.activeElement === document.body) heading.focus();
}

function signedOut(message) {
  fill(root, h("main", { id: "main", class: "signed-out" },
    h("h1", {}, "CommonShelf"), h("p", { role: "status" }, message),
    h("button", { type: "button", id: "sign-in-again" }, t("signin.again"))));
  document.getElementById("sign-in-again").addEventListener("click", () => signIn(language()));
}

/** The viewer's fields this service has (a staff user's name where the schema offers it). */
async function viewerFields() {
  const data = await gql("{ __type(name: \"Viewer\") { fields { name } } }");
  const have = new Set(data.__type.fields.map((f) => f.name));
  return ["clientId scopes tenant { slug name status }",
    ...["username", "displayName"].filter((name) => have.has(name))].join(" ");
}

const STAFF_USER = `query StaffUser { currentStaffUser { username displayName roles } }`;

/** The signed-in staff member's name and roles (nothing for an API client's token). */
async function staffUser() {
  const user = (await gql(STAFF_USER)).currentStaffUser;
  return user ? { username: user.username, displayName: user.displayName, roles: user.roles } : {};
}

async function start() {
  setLanguage(language());
  let token = null;
  try {
    token = await restore();
  } catch (error) {
    signedOut(t("signin.failed", { reason: error.message }));
    return;
  }
  if (!token) {
    await signIn(language());
    return;
  }
  try {
    viewer = (await gql(`{ viewer { ${await viewerFields()} } }`)).viewer;
    if (await hasQuery("currentStaffUser")) Object.assign(viewer, await staffUser());
  } catch (error) { // e.g. the library was suspended since the session began
    signedOut(t("signin.failed", { reason: error.message }));
    return;
  }
  document.addEventListener("console:signed-out", () => signedOut(t("signedout")));
  window.addEventListener("hashchange", route);
  renderShell();
}

start();
