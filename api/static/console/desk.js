// The circulation desk: check out, check in (with a hold slip to print when the copy goes
// to the hold shelf), renew, place and cancel holds.
import { gql } from "./api.js";
import { h, fill, field, form, newKey } from "./dom.js";
import { t, dueDate, number } from "./i18n.js";

const CHECK_OUT = `mutation Out($input: CheckOutInput!) { checkOut(input: $input) { loan { dueAt itemBarcode } } }`;
const CHECK_IN = `mutation In($input: ItemActionInput!) { checkIn(input: $input) {
  item { barcode status } heldFor { holdId patronId pickupUntil } } }`;
const RENEW = `mutation Renew($input: ItemActionInput!) { renew(input: $input) { loan { dueAt itemBarcode } } }`;
const PLACE_HOLD = `mutation Hold($input: PlaceHoldInput!) { placeHold(input: $input) { hold { id position } } }`;
const CANCEL_HOLD = `mutation Cancel($input: CancelHoldInput!) { cancelHold(input: $input) }`;
const PATRON = `query Patron($id: ID) { patron(id: $id) { barcode name } }`;

const holdShelf = []; // slips of this desk's session: copies checked in for a waiting patron

/** Errors that concern the patron's field rather than the item's. */
const PATRON_CODES = new Set(["PATRON_BLOCKED", "PATRON_EXPIRED", "PATRON_ERASED", "LIMIT_REACHED",
  "HOLD_EXISTS"]);

function onField(itemField, patronField = itemField) {
  return (error) => {
    error.field = PATRON_CODES.has(error.code) || /patron/i.test(error.serverMessage || "")
      ? patronField : itemField;
    throw error;
  };
}

function itemStatus(status) {
  return t(`item.${status}`);
}

/** The desk; `recordId` (from a record's page) fills in the hold form. */
export async function page(main, recordId = "") {
  const shelf = h("ul", { class: "hold-shelf" });
  const out = form(t("desk.checkout"), {
    patron: field(t("desk.patron"), { required: true, autocomplete: "off" }),
    item: field(t("desk.item"), { required: true, autocomplete: "off" }),
  }, t("desk.checkout"), async (values) => {
    const data = await gql(CHECK_OUT, { input: { patronBarcode: values.patron, itemBarcode: values.item,
      idempotencyKey: newKey() } }).catch(onField("item", "patron"));
    out.elements[1].value = "";
    return t("desk.out", { item: values.item, due: dueDate(data.checkOut.loan.dueAt) });
  });
  const back = form(t("desk.checkin"), {
    item: field(t("desk.item"), { required: true, autocomplete: "off" }),
  }, t("desk.checkin"), async (values) => {
    const data = await gql(CHECK_IN, { input: { itemBarcode: values.item, idempotencyKey: newKey() } })
      .catch(onField("item"));
    const { item, heldFor } = data.checkIn;
    if (heldFor) {
      const patron = heldFor.patronId
        ? (await gql(PATRON, { id: heldFor.patronId })).patron : { barcode: "", name: "" };
      holdShelf.unshift({ item: item.barcode, patron, until: heldFor.pickupUntil });
      renderShelf(shelf);
    }
    back.elements[0].value = "";
    return t("desk.in", { item: item.barcode, status: itemStatus(item.status) });
  });
  const renew = form(t("desk.renew"), {
    item: field(t("desk.item"), { required: true, autocomplete: "off" }),
  }, t("desk.renew"), async (values) => {
    const data = await gql(RENEW, { input: { itemBarcode: values.item, idempotencyKey: newKey() } })
      .catch(onField("item"));
    return t("desk.renewed", { item: values.item, due: dueDate(data.renew.loan.dueAt) });
  });
  const hold = form(t("desk.hold"), {
    record: field(t("desk.recordId"), { required: true, autocomplete: "off", value: recordId },
      t("desk.recordId.hint")),
    patron: field(t("desk.patron"), { required: true, autocomplete: "off" }),
  }, t("desk.hold"), async (values) => {
    const data = await gql(PLACE_HOLD, { input: { recordId: values.record, patronBarcode: values.patron,
      idempotencyKey: newKey() } }).catch(onField("record", "patron"));
    return `${t("desk.held", { position: number(data.placeHold.hold.position) })} ${t("desk.holdId")}: ${data.placeHold.hold.id}`;
  });
  const cancel = form(t("desk.cancelHold"), {
    record: field(t("desk.recordId"), { required: true, autocomplete: "off" }),
    hold: field(t("desk.holdId"), { required: true, autocomplete: "off" }),
  }, t("desk.cancelHold"), async (values) => {
    await gql(CANCEL_HOLD, { input: { recordId: values.record, holdId: values.hold,
      idempotencyKey: newKey() } }).catch(onField("hold"));
    return t("desk.cancelled");
  });
  renderShelf(shelf);
  fill(main, h("h2", { tabindex: "-1" }, t("desk.title")),
    h("div", { class: "desk" },
      section("desk-out", t("desk.checkout"), out), section("desk-in", t("desk.checkin"), back),
      section("desk-renew", t("desk.renew"), renew), section("desk-hold", t("desk.hold"), hold),
      section("desk-cancel", t("desk.cancelHold"), cancel)),
    h("section", { "aria-labelledby": "shelf-title" }, h("h3", { id: "shelf-title" }, t("desk.shelf")),
      h("p", { class: "hint" }, t("desk.shelf.help")), shelf));
}

function section(id, title, content) {
  return h("section", { "aria-labelledby": id, class: "card" }, h("h3", { id }, title), content);
}

function renderShelf(list) {
  fill(list, holdShelf.length ? holdShelf.map((slip) => {
    const print = h("button", { type: "button", class: "secondary" }, `${t("desk.print")} (${slip.item})`);
    const el = h("li", { class: "slip" },
      h("p", { class: "slip-title" }, `${t("desk.slip")} — ${slip.item}`),
      h("p", {}, t("slip.for", { patron: [slip.patron.barcode, slip.patron.name].filter(Boolean).join(" ") })),
      h("p", {}, t("slip.until", { until: dueDate(slip.until) })), print);
    print.addEventListener("click", () => {
      el.classList.add("printing");
      document.body.classList.add("printing-slip");
      window.print();
      el.classList.remove("printing");
      document.body.classList.remove("printing-slip");
    });
    return el;
  }) : h("li", {}, t("none")));
}
