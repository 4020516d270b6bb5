// The union catalog (issue 13's contract): every member's holdings and availability per
// entry. Until the service has the `unionCatalog` query, the page says so.
import { gql, hasField, hasQuery } from "./api.js";
import { h, fill, field, form, pager, table, newKey } from "./dom.js";
import { t, number } from "./i18n.js";
import { requestForm } from "./ill.js";

const PAGE = 20;
const UNION = `query Union($query: String, $first: Int, $after: String, $filters: UnionCatalogFilters) {
  unionCatalog(query: $query, first: $first, after: $after, filters: $filters) {
    facets { total availableNow }
    edges { node { id title altTitles authors year format
      holdings { tenant { slug name } items available } } }
    pageInfo { hasNextPage endCursor } } }`;

export async function page(main, library = false) {
  const title = h("h2", { tabindex: "-1" }, t("union.title"));
  if (!(await hasQuery("unionCatalog"))) {
    fill(main, title, h("p", { class: "notice", role: "status", id: "union-unavailable" },
      t("unavailable", { feature: t("union.title") })));
    return;
  }
  const body = h("tbody", {});
  const results = h("table", {}, h("caption", {}, t("union.title")),
    h("thead", {}, h("tr", {}, [t("col.title"), t("col.authors"), t("col.year"), t("col.format"),
      t("col.holdings"), library ? t("ill.col") : null].filter(Boolean).map((text) => h("th", { scope: "col" }, text)))), body);
  const status = h("p", { role: "status", "aria-live": "polite" });
  const slot = h("div", {});
  let query = "";
  let after = null;
  const more = async () => {
    const filters = onShelf.checked ? { availableNow: true } : null;
    const data = (await gql(UNION, { query: query || null, first: PAGE, after, filters })).unionCatalog;
    for (const { node } of data.edges) {
      body.append(h("tr", {},
        h("td", {}, h("a", { href: `#/entry/${encodeURIComponent(node.id)}` }, node.title), node.altTitles?.length ? h("span", { class: "alt" }, ` ${node.altTitles.join(" · ")}`) : null),
        h("td", {}, node.authors.join("; ")), h("td", {}, node.year || ""), h("td", {}, node.format || ""),
        h("td", {}, h("ul", { class: "holdings" }, node.holdings.map((holding) => h("li", {},
          `${holding.tenant.name}: ${t("union.available", { available: number(holding.available),
            items: number(holding.items) })}`)))),
        library ? h("td", {}, h("a", { href: `#/entry/${encodeURIComponent(node.id)}`, class: "button" },
          t("ill.request"))) : null));
    }
    after = data.pageInfo.endCursor;
    status.textContent = data.facets.total ? t("union.count", { shown: number(body.children.length),
      total: number(data.facets.total), available: number(data.facets.availableNow) }) : t("cat.none");
    return data.pageInfo.hasNextPage;
  };
  const box = field(t("union.search"), { type: "search" });
  const onShelf = h("input", { type: "checkbox", id: "union-available" });
  const search = h("form", { role: "search", "aria-label": t("union.search") }, box,
    h("label", { for: "union-available", class: "check" }, onShelf, ` ${t("union.availableNow")}`),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("union.searchBtn"))));
  search.addEventListener("submit", async (event) => {
    event.preventDefault();
    query = box.input.value.trim();
    after = null;
    fill(body);
    fill(slot, (await more()) ? pager(more) : null);
  });
  fill(main, title, search, status, results, slot);
  fill(slot, (await more()) ? pager(more) : null);
}

const ENTRY_OF = `query EntryOf($id: ID!) { record(id: $id) { unionEntry { id } } }`;
const ENTRY = `query Entry($id: ID!) { unionCatalogEntry(id: $id) {
  id holdings { tenant { slug name } items available } } }`;

/** A record's entry in the union catalog: who else holds it and what is on the shelf now;
 * nothing until the service has `Record.unionEntry`. */
export async function holdingsOf(recordId) {
  if (!(await hasField("Record", "unionEntry"))) return null;
  const { record } = await gql(ENTRY_OF, { id: recordId });
  if (!record?.unionEntry) return null;
  const entry = (await gql(ENTRY, { id: record.unionEntry.id })).unionCatalogEntry;
  return h("section", { "aria-labelledby": "union-holdings" },
    h("h3", { id: "union-holdings" }, t("union.holdings")),
    h("p", {}, h("a", { href: `#/entry/${encodeURIComponent(entry.id)}` }, t("union.openEntry"))),
    table(t("union.holdings"), [t("col.library"), t("col.holdings")], entry.holdings.map((holding) =>
      [holding.tenant.name, t("union.available", { available: number(holding.available),
        items: number(holding.items) })])));
}

const DETAIL = `query EntryDetail($id: ID!) { unionCatalogEntry(id: $id) {
  id title altTitles authors isbns year format edition
  records { tenant { slug name } recordId }
  holdings { tenant { slug name } items available } matchReasons } }`;
const MERGE = `mutation Merge($input: MergeUnionEntriesInput!) {
  mergeUnionEntries(input: $input) { entry { id title } } }`;
const SPLIT = `mutation Split($input: SplitUnionEntryInput!) {
  splitUnionEntry(input: $input) { entry { id } splitOff { id title } } }`;

/** The office's overrides of an entry: merge other entries into it, split records out. */
function overrides(entry) {
  const merge = form(t("union.merge"), {
    others: field(t("union.mergeIds"), { required: true, autocomplete: "off" }, t("union.idsHint")),
    note: field(t("union.note"), { required: true }),
  }, t("union.merge"), async (values) => {
    const ids = [entry.id, ...values.others.split(/[\s,]+/).filter(Boolean)];
    const merged = (await gql(MERGE, { input: { ids, note: values.note, idempotencyKey: newKey() } })
      .catch((e) => { e.field = "others"; throw e; })).mergeUnionEntries.entry;
    return t("union.merged", { id: merged ? merged.id : entry.id });
  });
  const boxes = entry.records.map((record, i) => {
    const id = `split-${i}`;
    const box = h("input", { type: "checkbox", id, value: `${record.tenant.slug}:${record.recordId}` });
    return [box, h("label", { for: id, class: "check" }, box, ` ${record.tenant.name} · ${record.recordId}`)];
  });
  const choice = h("fieldset", {}, h("legend", {}, t("union.splitWhich")), boxes.map(([, label]) => label),
    h("p", { class: "field-error", "aria-live": "polite", id: "split-error" }));
  choice.input = boxes.length ? boxes[0][0] : choice;
  choice.showError = (message) => { choice.querySelector("#split-error").textContent = message || ""; };
  choice.value = () => boxes.filter(([box]) => box.checked).map(([box]) => box.value);
  const split = form(t("union.split"), { records: choice, note: field(t("union.note"), { required: true }) },
    t("union.split"), async (values) => {
      if (!values.records.length) throw Object.assign(new Error(t("union.splitNone")), { field: "records" });
      const done = (await gql(SPLIT, { input: { id: entry.id, recordIds: values.records, note: values.note,
        idempotencyKey: newKey() } }).catch((e) => { e.field = "records"; throw e; })).splitUnionEntry;
      return t("union.splitDone", { count: number(done.splitOff.length) });
    });
  return h("div", { class: "desk" },
    h("section", { class: "card" }, h("h3", {}, t("union.merge")), merge),
    h("section", { class: "card" }, h("h3", {}, t("union.split")), split));
}

/** One entry of the union catalog: its records per member, holdings and why its records
 * were joined; the office may merge or split it, a library may ask for it through ILL. */
export async function entry(main, id, library) {
  const found = (await gql(DETAIL, { id })).unionCatalogEntry;
  const heading = h("h2", { tabindex: "-1" }, found ? found.title : t("union.title"));
  if (!found) {
    fill(main, heading, h("p", { role: "alert", class: "field-error" }, t("union.noEntry")));
    return;
  }
  fill(main, heading,
    h("p", { class: "byline" }, [found.authors.join("; "), found.year, found.format, found.edition,
      found.isbns.join(" ")].filter(Boolean).join(" · ")),
    table(t("union.records"), [t("col.library"), t("union.recordId")],
      found.records.map((r) => [r.tenant.name, r.recordId])),
    table(t("union.holdings"), [t("col.library"), t("col.holdings")], found.holdings.map((holding) =>
      [holding.tenant.name, t("union.available", { available: number(holding.available),
        items: number(holding.items) })])),
    h("section", { "aria-labelledby": "match-reasons" }, h("h3", { id: "match-reasons" }, t("union.why")),
      found.matchReasons.length ? h("ul", {}, found.matchReasons.map((line) => h("li", {}, line)))
        : h("p", {}, t("union.single"))),
    library ? h("section", { class: "card" }, h("h3", {}, t("ill.request")), requestForm(found.id))
      : overrides(found));
}
