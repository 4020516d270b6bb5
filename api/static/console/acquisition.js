// The shared acquisition view: titles ranked by demand per copy held in the consortium, with
// who holds them, who suggested them and who has them on order (issue 13's contract).
import { gql, hasQuery } from "./api.js";
import { h, fill, field, pager } from "./dom.js";
import { t, number } from "./i18n.js";

const PAGE = 20;
const SORTS = ["DEMAND_PER_COPY", "DEMAND", "HOLDS_WAITING", "LOANS_LAST_YEAR", "SUGGESTIONS"];
const CANDIDATES = `query Candidates($sort: AcquisitionCandidateSort!, $first: Int!, $after: String) {
  acquisitionCandidates(sort: $sort, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id title isbn authors holdingMembers copies available holdsWaiting loansLastYear
      interlibraryUnfilled suggestions openOrders { member { name } copies } demand demandPerCopy heldByMe } } } }`;
const COLUMNS = ["col.title", "acq.holders", "acq.copies", "acq.holds", "acq.loans", "acq.unfilled",
  "acq.suggestions", "acq.orders", "acq.demand", "acq.perCopy"];

export async function page(main, title = t("nav.acquisition")) {
  const heading = h("h2", { tabindex: "-1" }, title);
  if (!(await hasQuery("acquisitionCandidates"))) {
    fill(main, heading, h("p", { class: "notice", role: "status" }, t("unavailable", { feature: title })));
    return;
  }
  const sort = field(t("acq.sort"), { tag: "select", options: SORTS.map((s) => [s, t(`acq.sort.${s}`)]) });
  const body = h("tbody", {});
  const status = h("p", { role: "status", "aria-live": "polite" });
  const slot = h("div", {});
  let after = null;
  const more = async () => {
    const data = (await gql(CANDIDATES, { sort: sort.input.value, first: PAGE, after })).acquisitionCandidates;
    for (const { node: c } of data.edges) {
      body.append(h("tr", {}, h("td", {}, c.title || c.isbn || c.id, c.heldByMe ? ` (${t("acq.heldByMe")})` : ""),
        h("td", {}, number(c.holdingMembers)), h("td", {}, `${number(c.available)} / ${number(c.copies)}`),
        h("td", {}, number(c.holdsWaiting)), h("td", {}, number(c.loansLastYear)),
        h("td", {}, number(c.interlibraryUnfilled)), h("td", {}, number(c.suggestions)),
        h("td", {}, c.openOrders.map((o) => `${o.member.name}: ${number(o.copies)}`).join("; ")),
        h("td", {}, number(c.demand)), h("td", {}, number(c.demandPerCopy))));
    }
    after = data.pageInfo.endCursor;
    status.textContent = t("acq.count", { shown: number(body.children.length), total: number(data.totalCount) });
    return data.pageInfo.hasNextPage;
  };
  const reload = async () => {
    fill(body);
    after = null;
    fill(slot, (await more()) ? pager(more) : null);
  };
  sort.input.addEventListener("change", reload);
  fill(main, heading, sort, status, h("table", {}, h("caption", {}, title),
    h("thead", {}, h("tr", {}, COLUMNS.map((key) => h("th", { scope: "col" }, t(key))))), body), slot);
  await reload();
}
