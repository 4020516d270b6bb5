// Interlibrary loans, both sides: requests the library made and requests it was asked to
// supply, each with its history (who did what, when).
import { gql, hasQuery } from "./api.js";
import { h, fill, field, pager, table } from "./dom.js";
import { t, dateTime } from "./i18n.js";

const PAGE = 20;
const REQUESTS = `query Requests($side: LendingSide, $first: Int!, $after: String) {
  lendingRequests(side: $side, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id side state title requestingAgencyRequestId partner { slug }
      peer { agencyIdType agencyIdValue } history { state at by message } } } } }`;

export async function page(main) {
  const heading = h("h2", { tabindex: "-1" }, t("nav.ill"));
  if (!(await hasQuery("lendingRequests"))) {
    fill(main, heading, h("p", { class: "notice", role: "status" }, t("unavailable", { feature: t("nav.ill") })));
    return;
  }
  const side = field(t("ill.side"), { tag: "select", options: [["", t("ill.both")],
    ["REQUESTER", t("ill.REQUESTER")], ["SUPPLIER", t("ill.SUPPLIER")]] });
  const list = h("ol", { class: "results" });
  const status = h("p", { role: "status", "aria-live": "polite" });
  const slot = h("div", {});
  let after = null;
  const more = async () => {
    const data = (await gql(REQUESTS, { side: side.input.value || null, first: PAGE, after })).lendingRequests;
    for (const { node: r } of data.edges) {
      const partner = r.partner ? r.partner.slug : r.peer ? `${r.peer.agencyIdType}:${r.peer.agencyIdValue}` : "";
      list.append(h("li", {}, h("span", { class: "title" }, r.title),
        h("span", { class: "byline" }, [t(`ill.${r.side}`), r.state, partner, r.requestingAgencyRequestId].join(" · ")),
        h("details", {}, h("summary", {}, t("ill.history")), table(t("ill.history"),
          [t("history.when"), t("col.status"), t("history.who"), t("ill.message")],
          r.history.map((line) => [dateTime(line.at), line.state, line.by || t("history.unknown"), line.message])))));
    }
    after = data.pageInfo.endCursor;
    status.textContent = list.children.length ? "" : t("ill.none");
    return data.pageInfo.hasNextPage;
  };
  const reload = async () => {
    fill(list);
    after = null;
    fill(slot, (await more()) ? pager(more) : null);
  };
  side.input.addEventListener("change", reload);
  fill(main, heading, side, status, list, slot);
  await reload();
}
