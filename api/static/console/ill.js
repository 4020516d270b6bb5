// Interlibrary loans, both sides: requests the library made and requests it was asked to
// supply, each with its history (who did what, when) and the actions of its side.
import { gql, hasQuery } from "./api.js";
import { h, fill, field, form, pager, table, newKey } from "./dom.js";
import { t, dateTime } from "./i18n.js";

const PAGE = 20;
const REQUEST_FIELDS = `id side state title requestingAgencyRequestId partner { slug }
  peer { agencyIdType agencyIdValue } history { state at by message }`;
const REQUESTS = `query Requests($side: LendingSide, $first: Int!, $after: String) {
  lendingRequests(side: $side, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { ${REQUEST_FIELDS} } } } }`;

const REQUEST_LOAN = `mutation RequestLoan($input: RequestLoanInput!) {
  requestLoan(input: $input) { request { id state partner { slug } } } }`;
const RESPOND = `mutation Respond($input: RespondToLendingRequestInput!) {
  respondToLendingRequest(input: $input) { request { id state } } }`;
const SHIP = `mutation Ship($input: ShipLendingRequestInput!) {
  shipLendingRequest(input: $input) { request { id state } } }`;
const RECEIVE = `mutation Receive($input: ReceiveLendingRequestInput!) {
  receiveLendingRequest(input: $input) { request { id state } } }`;
const LEND_ON = `mutation LendOn($input: LendingRequestInput!) {
  lendOnLendingRequest(input: $input) { request { id state } } }`;
const RETURN = `mutation Return($input: LendingRequestInput!) {
  returnLendingRequest(input: $input) { request { id state } } }`;
const COMPLETE = `mutation Complete($input: LendingRequestInput!) {
  completeLendingRequest(input: $input) { request { id state } } }`;
const RENEW = `mutation Renew($input: RenewLendingRequestInput!) {
  renewLendingRequest(input: $input) { request { id state } } }`;
const RECALL = `mutation Recall($input: LendingRequestInput!) {
  recallLendingRequest(input: $input) { request { id state } } }`;
const CANCEL = `mutation Cancel($input: LendingRequestInput!) {
  cancelLendingRequest(input: $input) { request { id state } } }`;

// Each action: its document, the name of its mutation, and the input it sends beside
// the request's id ({ note, reason, barcode } are what the staff member typed).
const ACTIONS = {
  willSupply: [RESPOND, "respondToLendingRequest", (v) => ({ answer: "WILL_SUPPLY", note: v.note,
    itemBarcode: v.barcode })],
  expectToSupply: [RESPOND, "respondToLendingRequest", (v) => ({ answer: "EXPECT_TO_SUPPLY", note: v.note })],
  unfilled: [RESPOND, "respondToLendingRequest", (v) => ({ answer: "UNFILLED", reason: v.reason, note: v.note })],
  retryPossible: [RESPOND, "respondToLendingRequest", (v) => ({ answer: "RETRY_POSSIBLE", reason: v.reason,
    note: v.note })],
  ship: [SHIP, "shipLendingRequest", () => ({})],
  complete: [COMPLETE, "completeLendingRequest", (v) => ({ note: v.note })],
  recall: [RECALL, "recallLendingRequest", (v) => ({ note: v.note })],
  approveRenewal: [RENEW, "renewLendingRequest", (v) => ({ approve: true, note: v.note })],
  refuseRenewal: [RENEW, "renewLendingRequest", (v) => ({ approve: false, note: v.note })],
  receive: [RECEIVE, "receiveLendingRequest", () => ({ lendToPatron: true })],
  receiveKeep: [RECEIVE, "receiveLendingRequest", () => ({ lendToPatron: false })],
  lendOn: [LEND_ON, "lendOnLendingRequest", (v) => ({ note: v.note })],
  return: [RETURN, "returnLendingRequest", (v) => ({ note: v.note })],
  renew: [RENEW, "renewLendingRequest", (v) => ({ note: v.note })],
  cancel: [CANCEL, "cancelLendingRequest", (v) => ({ note: v.note })],
};
const SIDE_ACTIONS = {
  SUPPLIER: ["willSupply", "expectToSupply", "unfilled", "retryPossible", "ship", "complete", "recall",
    "approveRenewal", "refuseRenewal", "cancel"],
  REQUESTER: ["receive", "receiveKeep", "lendOn", "return", "renew", "cancel"],
};
// The action offered first in a state, per side (the next step of the usual path).
const NEXT = {
  SUPPLIER: { RequestReceived: "willSupply", ExpectToSupply: "willSupply", RetryPossible: "willSupply",
    WillSupply: "ship", Loaned: "complete", Overdue: "recall" },
  REQUESTER: { Loaned: "receive", Overdue: "return", Recalled: "return" },
};
const NEEDS_REASON = new Set(["unfilled", "retryPossible"]);

function strip(values) {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "" && v !== undefined));
}

/** The form acting on one request: the action (those of its side), a reason, a copy's
 * barcode (supplier) and a note; a refusal is shown next to the action. */
function actions(request, done) {
  const names = SIDE_ACTIONS[request.side];
  const action = field(t("ill.action"), { tag: "select", options: names.map((n) => [n, t(`ill.do.${n}`)]) });
  const next = NEXT[request.side][request.state];
  if (next) action.input.value = next;
  const fields = { action };
  if (request.side === "SUPPLIER") {
    fields.reason = field(t("ill.reason"), { autocomplete: "off" }, t("ill.reasonHint"));
    fields.barcode = field(t("ill.itemBarcode"), { autocomplete: "off" });
  }
  fields.note = field(t("ill.note"), { autocomplete: "off" });
  return form(t("ill.actOn", { title: request.title }), fields, t("ill.apply"), async (values) => {
    if (NEEDS_REASON.has(values.action) && !values.reason) {
      throw Object.assign(new Error(t("ill.reasonNeeded")), { field: "reason" });
    }
    const [document, name, input] = ACTIONS[values.action];
    const data = await gql(document, { input: { id: request.id, ...strip(input(values)),
      idempotencyKey: newKey() } }).catch((e) => { e.field = "action"; throw e; });
    await done(t("ill.now", { title: request.title, action: t(`ill.do.${values.action}`),
      state: data[name].request.state }));
    return "";
  });
}

/** The form asking the consortium for a union catalog entry for a patron. */
export function requestForm(entryId) {
  return form(t("ill.request"), {
    patron: field(t("ill.patron"), { required: true, autocomplete: "off" }),
    pickup: field(t("ill.pickup"), { required: true }),
    note: field(t("ill.note"), { autocomplete: "off" }),
  }, t("ill.request"), async (values) => {
    const request = (await gql(REQUEST_LOAN, { input: { unionCatalogEntryId: entryId,
      patronBarcode: values.patron, pickupLocation: values.pickup, note: values.note || null,
      idempotencyKey: newKey() } }).catch((e) => {
      e.field = /pickup/i.test(e.serverMessage) ? "pickup" : "patron"; throw e;
    })).requestLoan.request;
    return t("ill.requested", { state: request.state, partner: request.partner ? request.partner.slug : "" });
  });
}

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
      list.append(h("li", { class: "ill-request" }, h("span", { class: "title" }, r.title),
        h("span", { class: "byline" }, [t(`ill.${r.side}`), r.state, partner, r.requestingAgencyRequestId].join(" · ")),
        h("details", {}, h("summary", {}, t("ill.history")), table(t("ill.history"),
          [t("history.when"), t("col.status"), t("history.who"), t("ill.message")],
          r.history.map((line) => [dateTime(line.at), line.state, line.by || t("history.unknown"), line.message]))),
        h("details", { class: "ill-actions" }, h("summary", {}, t("ill.actions")), actions(r, announce))));
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
  const announce = async (message) => {
    await reload();
    status.textContent = message;
  };
  side.input.addEventListener("change", reload);
  fill(main, heading, side, status, list, slot);
  await reload();
}
