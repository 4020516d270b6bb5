// The union catalog (issue 13's contract): every member's holdings and availability per
// entry. Until the service has the `unionCatalog` query, the page says so.
import { gql, hasField, hasQuery } from "./api.js";
import { h, fill, field, pager, table } from "./dom.js";
import { t, number } from "./i18n.js";

const PAGE = 20;
const UNION = `query Union($query: String, $first: Int, $after: String, $filters: UnionCatalogFilters) {
  unionCatalog(query: $query, first: $first, after: $after, filters: $filters) {
    facets { total availableNow }
    edges { node { id title altTitles authors year format
      holdings { tenant { slug name } items available } } }
    pageInfo { hasNextPage endCursor } } }`;

export async function page(main) {
  const title = h("h2", { tabindex: "-1" }, t("union.title"));
  if (!(await hasQuery("unionCatalog"))) {
    fill(main, title, h("p", { class: "notice", role: "status", id: "union-unavailable" },
      t("unavailable", { feature: t("union.title") })));
    return;
  }
  const body = h("tbody", {});
  const results = h("table", {}, h("caption", {}, t("union.title")),
    h("thead", {}, h("tr", {}, [t("col.title"), t("col.authors"), t("col.year"), t("col.format"),
      t("col.holdings")].map((text) => h("th", { scope: "col" }, text)))), body);
  const status = h("p", { role: "status", "aria-live": "polite" });
  const slot = h("div", {});
  let query = "";
  let after = null;
  const more = async () => {
    const filters = onShelf.checked ? { availableNow: true } : null;
    const data = (await gql(UNION, { query: query || null, first: PAGE, after, filters })).unionCatalog;
    for (const { node } of data.edges) {
      body.append(h("tr", {},
        h("td", {}, node.title, node.altTitles?.length ? h("span", { class: "alt" }, ` ${node.altTitles.join(" · ")}`) : null),
        h("td", {}, node.authors.join("; ")), h("td", {}, node.year || ""), h("td", {}, node.format || ""),
        h("td", {}, h("ul", { class: "holdings" }, node.holdings.map((holding) => h("li", {},
          `${holding.tenant.name}: ${t("union.available", { available: number(holding.available),
            items: number(holding.items) })}`))))));
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
    table(t("union.holdings"), [t("col.library"), t("col.holdings")], entry.holdings.map((holding) =>
      [holding.tenant.name, t("union.available", { available: number(holding.available),
        items: number(holding.items) })])));
}
