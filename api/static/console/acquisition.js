// The shared acquisition view: titles ranked by demand per copy held in the consortium, with
// who holds them, who suggested them and who has them on order (issue 13's contract).
import { gql, hasQuery } from "./api.js";
import { h, fill, field, form, pager, table, newKey } from "./dom.js";
import { t, dateTime, number } from "./i18n.js";

const PAGE = 20;
const SORTS = ["DEMAND_PER_COPY", "DEMAND", "HOLDS_WAITING", "LOANS_LAST_YEAR", "SUGGESTIONS"];
const CANDIDATES = `query Candidates($sort: AcquisitionCandidateSort!, $first: Int!, $after: String) {
  acquisitionCandidates(sort: $sort, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id title isbn authors holdingMembers copies available holdsWaiting loansLastYear
      interlibraryUnfilled suggestions openOrders { member { name } copies } demand demandPerCopy heldByMe } } } }`;
const COLUMNS = ["col.title", "acq.holders", "acq.copies", "acq.holds", "acq.loans", "acq.unfilled",
  "acq.suggestions", "acq.orders", "acq.demand", "acq.perCopy"];

const SUGGEST = `mutation Suggest($input: SuggestPurchaseInput!) { suggestPurchase(input: $input) { suggestion { id } } }`;
const ORDER = `mutation Order($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id copies status }
  consortium { copies available warning holders { member { name } items available }
    openOrders { member { name } copies } } } }`;
const ORDERS = `query Orders($first: Int!) { purchaseOrders(first: $first) {
  id wanted { title isbn } copies status vendor placedAt } }`;
const CANCEL_ORDER = `mutation CancelOrder($input: CancelOrderInput!) { cancelOrder(input: $input) {
  order { id status } } }`;
const RECEIVE_ORDER = `mutation ReceiveOrder($input: ReceiveOrderInput!) { receiveOrder(input: $input) {
  order { id status copies } } }`;

/** What a library does: suggest a title, order copies (told first what the consortium
 * already has and has on order), and its own orders. */
async function ordering() {
  const wanted = (values) => ({ title: values.title || null, isbn: values.isbn || null });
  const suggest = form(t("acq.suggest"), {
    title: field(t("acq.wantedTitle"), { required: true }),
    isbn: field(t("acq.isbn"), { autocomplete: "off" }),
    patron: field(t("acq.patron"), { autocomplete: "off" }),
  }, t("acq.suggest"), async (values) => {
    await gql(SUGGEST, { input: { wanted: wanted(values), patronBarcode: values.patron || null,
      idempotencyKey: newKey() } }).catch((e) => { e.field = /patron/i.test(e.serverMessage) ? "patron" : "title"; throw e; });
    return t("acq.suggested");
  });
  const warning = h("div", { role: "status", "aria-live": "polite" });
  const order = form(t("acq.order"), {
    title: field(t("acq.wantedTitle"), { required: true }),
    isbn: field(t("acq.isbn"), { autocomplete: "off" }),
    copies: field(t("acq.copiesToOrder"), { required: true, type: "number", min: "1", value: "1" }),
    vendor: field(t("acq.vendor"), {}),
  }, t("acq.order"), async (values) => {
    const placed = (await gql(ORDER, { input: { wanted: wanted(values), copies: Number(values.copies),
      vendor: values.vendor || null, idempotencyKey: newKey() } })
      .catch((e) => { e.field = /cop/i.test(e.serverMessage) ? "copies" : "title"; throw e; })).placeOrder;
    const c = placed.consortium;
    fill(warning, c.copies || c.openOrders.length ? [
      h("p", { class: "notice" }, t("acq.warning", { copies: number(c.copies), available: number(c.available) })),
      h("ul", {}, c.holders.map((m) => h("li", {}, `${m.member.name}: ${t("union.available",
        { available: number(m.available), items: number(m.items) })}`)),
      c.openOrders.map((o) => h("li", {}, t("acq.onOrder", { member: o.member.name, copies: number(o.copies) }))))]
      : h("p", {}, t("acq.nobody")));
    await refreshOrders();
    return t("acq.ordered", { copies: number(placed.order.copies) });
  });
  let orders = await ourOrders();
  const ordersStatus = h("p", { role: "status", "aria-live": "polite" });
  refreshOrders = async (message = "") => {
    orders.replaceWith(orders = await ourOrders());
    ordersStatus.textContent = message;
  };
  return h("div", {}, h("div", { class: "desk" },
    h("section", { class: "card" }, h("h3", {}, t("acq.suggest")), suggest),
    h("section", { class: "card" }, h("h3", {}, t("acq.order")), order, warning)), ordersStatus, orders);
}

let refreshOrders = async (_message = "") => {};

async function ourOrders() {
  const orders = (await gql(ORDERS, { first: 50 })).purchaseOrders;
  const open = orders.filter((o) => o.status === "OPEN");
  return h("div", {}, table(t("acq.ourOrders"), [t("col.title"), t("acq.copiesToOrder"), t("col.status"),
    t("acq.vendorCol"), t("col.started")], orders.map((o) => [o.wanted.title || o.wanted.isbn || "",
    number(o.copies), t(`acq.status.${o.status}`), o.vendor || "", dateTime(o.placedAt)])),
    open.length ? openOrders(open) : null);
}

/** Receiving an open order (a barcode per copy, where they go) or cancelling it. */
function openOrders(open) {
  const choice = () => field(t("acq.whichOrder"), { tag: "select", options: open.map((o) =>
    [o.id, `${o.wanted.title || o.wanted.isbn || o.id} (${number(o.copies)})`]) });
  const receive = form(t("acq.receive"), {
    order: choice(),
    barcodes: field(t("acq.barcodes"), { required: true, autocomplete: "off" }, t("acq.barcodesHint")),
    branch: field(t("acq.branch"), { required: true }),
    collection: field(t("acq.collection"), {}),
    shelf: field(t("acq.shelf"), {}),
  }, t("acq.receive"), async (values) => {
    const barcodes = values.barcodes.split(/[\s,]+/).filter(Boolean);
    const location = { branch: values.branch, collection: values.collection || null, shelf: values.shelf || null };
    await gql(RECEIVE_ORDER, { input: { orderId: values.order, barcodes, location, idempotencyKey: newKey() } })
      .catch((e) => { e.field = /branch|location/i.test(e.serverMessage) ? "branch" : "barcodes"; throw e; });
    await refreshOrders(t("acq.received", { copies: number(barcodes.length) }));
    return "";
  });
  const cancel = form(t("acq.cancel"), { order: choice(), reason: field(t("acq.reason"), {}) },
    t("acq.cancel"), async (values) => {
      await gql(CANCEL_ORDER, { input: { orderId: values.order, reason: values.reason || null,
        idempotencyKey: newKey() } }).catch((e) => { e.field = "order"; throw e; });
      await refreshOrders(t("acq.cancelled"));
      return "";
    });
  return h("div", { class: "desk" },
    h("section", { class: "card" }, h("h3", {}, t("acq.receive")), receive),
    h("section", { class: "card" }, h("h3", {}, t("acq.cancel")), cancel));
}

export async function page(main, title = t("nav.acquisition"), library = false) {
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
  fill(main, heading, library ? await ordering() : null, sort, status, h("table", {}, h("caption", {}, title),
    h("thead", {}, h("tr", {}, COLUMNS.map((key) => h("th", { scope: "col" }, t(key))))), body), slot);
  await reload();
}
