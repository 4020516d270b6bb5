// The union catalog (issue 13's contract): every member's holdings and availability per
// entry. Until the service has the `unionCatalog` query, the page says so.
import { gql, hasQuery } from "./api.js";
import { h, fill, field, pager, table } from "./dom.js";
import { t, number } from "./i18n.js";

const PAGE = 20;
const UNION = `query Union($query: String, $first: Int, $after: String) {
  unionCatalog(query: $query, first: $first, after: $after) {
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
    const data = (await gql(UNION, { query: query || null, first: PAGE, after })).unionCatalog;
    for (const { node } of data.edges) {
      body.append(h("tr", {},
        h("td", {}, node.title, node.altTitles?.length ? h("span", { class: "alt" }, ` ${node.altTitles.join(" · ")}`) : null),
        h("td", {}, node.authors.join("; ")), h("td", {}, node.year || ""), h("td", {}, node.format || ""),
        h("td", {}, h("ul", { class: "holdings" }, node.holdings.map((holding) => h("li", {},
          `${holding.tenant.name}: ${t("union.available", { available: number(holding.available),
            items: number(holding.items) })}`))))));
    }
    after = data.pageInfo.endCursor;
    status.textContent = body.children.length ? t("cat.count", { n: number(body.children.length) }) : t("cat.none");
    return data.pageInfo.hasNextPage;
  };
  const box = field(t("union.search"), { type: "search" });
  const search = h("form", { role: "search", "aria-label": t("union.search") }, box,
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
