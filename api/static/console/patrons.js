// Patrons: register, find, block and unblock, and erase with its consequences spelled out.
import { gql } from "./api.js";
import { h, fill, field, form, table, newKey } from "./dom.js";
import { t, dateOnly, dueDate, number } from "./i18n.js";

const PATRON_FIELDS = `id barcode name email patronGroup expiresOn blocks erased
  loans { itemBarcode dueAt overdue } holds { id recordId position status pickupUntil }`;
const FIND = `query Find($barcode: String) { patron(barcode: $barcode) { ${PATRON_FIELDS} } }`;
const REGISTER = `mutation Register($input: RegisterPatronInput!) { registerPatron(input: $input) { patron { ${PATRON_FIELDS} } } }`;
const BLOCK = `mutation Block($input: BlockPatronInput!) { blockPatron(input: $input) { patron { ${PATRON_FIELDS} } } }`;
const UNBLOCK = `mutation Unblock($input: PatronInput!) { unblockPatron(input: $input) { patron { ${PATRON_FIELDS} } } }`;
const ERASE = `mutation Erase($input: PatronInput!) { erasePatron(input: $input) { erased cancelledHolds { holdId } } }`;

export async function page(main) {
  const shown = h("div", { id: "patron" });
  const find = form(t("pat.find"), {
    barcode: field(t("pat.barcode"), { required: true, autocomplete: "off" }),
  }, t("pat.findBtn"), async (values) => {
    const data = await gql(FIND, { barcode: values.barcode }).catch((e) => { e.field = "barcode"; throw e; });
    showPatron(shown, data.patron);
    return "";
  });
  const nextYear = new Date(Date.now() + 365 * 86400e3).toISOString().slice(0, 10);
  const register = form(t("pat.register"), {
    barcode: field(t("pat.barcode"), { required: true, autocomplete: "off" }),
    name: field(t("pat.name"), { required: true, autocomplete: "off" }),
    email: field(t("pat.email"), { type: "email", autocomplete: "off" }),
    group: field(t("pat.group"), { required: true, value: "public" }, t("pat.group.hint")),
    expires: field(t("pat.expires"), { required: true, type: "date", value: nextYear }),
  }, t("pat.register"), async (values) => {
    const data = await gql(REGISTER, { input: { barcode: values.barcode, name: values.name,
      email: values.email || null, patronGroup: values.group, expiresOn: values.expires,
      idempotencyKey: newKey() } }).catch((e) => {
      e.field = /email/i.test(e.serverMessage) ? "email" : /expires/i.test(e.serverMessage) ? "expires"
        : /group/i.test(e.serverMessage) ? "group" : /name/i.test(e.serverMessage) ? "name" : "barcode";
      throw e;
    });
    showPatron(shown, data.registerPatron.patron);
    register.reset();
    return t("pat.registered", { name: values.name });
  });
  fill(main, h("h2", { tabindex: "-1" }, t("pat.title")),
    h("div", { class: "desk" },
      h("section", { class: "card", "aria-labelledby": "find-title" }, h("h3", { id: "find-title" }, t("pat.find")), find),
      h("section", { class: "card", "aria-labelledby": "reg-title" }, h("h3", { id: "reg-title" }, t("pat.register")), register)),
    shown);
}

function showPatron(el, patron) {
  if (patron.erased) {
    fill(el, h("p", { role: "status" }, t("pat.erasedShown")));
    return;
  }
  const heading = h("h3", { tabindex: "-1" }, `${patron.name} (${patron.barcode})`);
  const block = form(t("pat.block"), { reason: field(t("pat.reason"), { required: true }) },
    t("pat.block"), async (values) => {
      const data = await gql(BLOCK, { input: { barcode: patron.barcode, reason: values.reason,
        idempotencyKey: newKey() } });
      showPatron(el, data.blockPatron.patron);
    });
  const unblock = h("button", { type: "button", class: "secondary" }, t("pat.unblock"));
  unblock.addEventListener("click", async () => {
    const data = await gql(UNBLOCK, { input: { barcode: patron.barcode, idempotencyKey: newKey() } });
    showPatron(el, data.unblockPatron.patron);
  });
  const erase = form(t("pat.erase"), {
    confirm: field(t("pat.confirm", { barcode: patron.barcode }), { required: true, autocomplete: "off" },
      t("pat.erase.warn")),
  }, t("pat.erase"), async (values) => {
    if (values.confirm !== patron.barcode) {
      throw Object.assign(new Error(t("confirm.mismatch", { expected: patron.barcode })), { field: "confirm" });
    }
    const data = await gql(ERASE, { input: { barcode: patron.barcode, idempotencyKey: newKey() } });
    fill(el, h("p", { role: "status" }, t("pat.erased", { n: number(data.erasePatron.cancelledHolds.length) })));
  });
  erase.classList.add("danger");
  fill(el, heading,
    h("p", {}, [patron.patronGroup, patron.email, t("pat.expiresOn", { date: dateOnly(patron.expiresOn) })]
      .filter(Boolean).join(" · ")),
    h("p", {}, `${t("pat.blocks")}: ${patron.blocks.length ? patron.blocks.join("; ") : t("none")}`),
    table(t("pat.loans"), [t("col.barcode"), t("col.due")],
      patron.loans.map((loan) => [loan.itemBarcode || "", `${dueDate(loan.dueAt)}${loan.overdue ? " ⚠" : ""}`])),
    table(t("pat.holds"), [t("desk.holdId"), t("desk.recordId"), t("col.queue"), t("col.pickup")],
      patron.holds.map((hold) => [hold.id, hold.recordId || "", number(hold.position), dueDate(hold.pickupUntil)])),
    patron.blocks.length ? unblock : block, erase);
  heading.focus();
}
