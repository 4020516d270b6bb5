// A library's catalog: search, a record (its other scripts, its copies, its MARC), adding a
// copy, and MARC imports with live progress and the per-record report.
import { gql, rest } from "./api.js";
import { h, fill, field, form, pager, table, newKey } from "./dom.js";
import { t, bytes, dateTime, dueDate, number, percent } from "./i18n.js";
import { history as auditTrail } from "./staff.js";
import { holdingsOf } from "./union.js";

const PAGE = 20;
const SEARCH = `query Search($query: String, $first: Int!, $after: String) {
  records(query: $query, first: $first, after: $after) {
    edges { node { id title altTitles authors year } } pageInfo { hasNextPage endCursor } } }`;
let lastQuery = "";

export async function search(main) {
  const results = h("ol", { class: "results", "aria-label": t("cat.title") });
  const count = h("p", { role: "status", "aria-live": "polite" });
  let after = null;
  let shown = 0;
  const more = async () => {
    const data = await gql(SEARCH, { query: lastQuery || null, first: PAGE, after });
    for (const { node } of data.records.edges) {
      results.append(h("li", {},
        h("a", { href: `#/record/${encodeURIComponent(node.id)}`, class: "title" }, node.title),
        node.altTitles.length ? h("span", { class: "alt" }, ` ${node.altTitles.join(" · ")}`) : null,
        h("span", { class: "byline" }, [node.authors.join("; "), node.year].filter(Boolean).join(", "))));
    }
    shown += data.records.edges.length;
    after = data.records.pageInfo.endCursor;
    count.textContent = shown ? t("cat.count", { n: number(shown) }) : t("cat.none");
    return data.records.pageInfo.hasNextPage;
  };
  const slot = h("div", {});
  const run = async () => {
    fill(results);
    after = null;
    shown = 0;
    fill(slot, (await more()) ? pager(more) : null);
  };
  const box = field(t("cat.search"), { type: "search", value: lastQuery, name: "q" });
  const searchForm = h("form", { role: "search", "aria-label": t("cat.search") }, box,
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("cat.searchBtn"))));
  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    lastQuery = box.input.value.trim();
    await run();
  });
  fill(main, h("h2", { tabindex: "-1" }, t("cat.title")), searchForm, count, results, slot);
  await run();
}

const RECORD = `query Record($id: ID!) { record(id: $id) {
  id title subtitle responsibility altTitles altAuthors authors year publisher place edition
  isbns subjects sharedRecordId marcxml holdQueueLength
  classification { lc dewey clc }
  items { barcode callNumber status location { branch collection shelf } loan { dueAt } } } }`;
const RECORD_HISTORY = `query History($id: ID!, $first: Int!, $before: Int) {
  recordHistory(id: $id, first: $first, before: $before) {
    entries { position at actor operation aggregate event } nextBefore } }`;
const ITEM_HISTORY = `query ItemHistory($barcode: String!, $first: Int!, $before: Int) {
  itemHistory(barcode: $barcode, first: $first, before: $before) {
    entries { position at actor operation aggregate event } nextBefore } }`;
const ADD_ITEM = `mutation Add($input: AddItemInput!) { addItem(input: $input) { item { barcode } } }`;

export async function record(main, id) {
  const { record: rec } = await gql(RECORD, { id });
  if (!rec) {
    fill(main, h("h2", { tabindex: "-1" }, t("cat.title")), h("p", { role: "alert" }, t("error.NOT_FOUND")));
    return;
  }
  const facts = [
    [t("rec.id"), rec.id],
    [t("rec.alt"), rec.altTitles.concat(rec.altAuthors).join(" · ")],
    [t("rec.authors"), rec.authors.join("; ")],
    [t("rec.publication"), [rec.place, rec.publisher, rec.year, rec.edition].filter(Boolean).join(", ")],
    [t("rec.isbn"), rec.isbns.join(", ")],
    [t("rec.subjects"), rec.subjects.join("; ")],
    [t("rec.classification"), [rec.classification.lc, rec.classification.dewey, rec.classification.clc]
      .filter(Boolean).join(" · ")],
  ].filter(([, value]) => value);
  const copies = table(t("rec.items"), [t("col.barcode"), t("col.callNumber"), t("col.location"),
    t("col.status"), t("col.due")], rec.items.map((item) => [item.barcode, item.callNumber || "",
    [item.location.branch, item.location.collection, item.location.shelf].filter(Boolean).join(" / "),
    t(`item.${item.status}`), item.loan ? dueDate(item.loan.dueAt) : ""]));
  const fields = {
    barcode: field(t("item.barcode"), { required: true, autocomplete: "off" }),
    branch: field(t("item.branch"), { required: true, value: "MAIN" }),
    shelf: field(t("item.shelf"), {}),
    callNumber: field(t("item.callNumber"), {}),
    epc: field(t("item.epc"), { autocomplete: "off" }),
  };
  const add = form(t("item.add"), fields, t("item.add"), async (values) => {
    await gql(ADD_ITEM, { input: { recordId: rec.id, barcode: values.barcode,
      location: { branch: values.branch, shelf: values.shelf || null },
      callNumber: values.callNumber || null, epc: values.epc || null, idempotencyKey: newKey() } })
      .catch((error) => { error.field = error.code === "EPC_TAKEN" ? "epc" : "barcode"; throw error; });
    await record(main, id);
    main.querySelector("#copies-status").textContent = t("item.added", { barcode: values.barcode });
    return "";
  });
  fill(main,
    h("p", {}, h("a", { href: "#/catalog" }, t("rec.back"))),
    h("h2", { tabindex: "-1", lang: "" }, rec.title, rec.subtitle ? `: ${rec.subtitle}` : ""),
    rec.responsibility ? h("p", {}, rec.responsibility) : null,
    h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    rec.sharedRecordId ? h("p", {}, t("rec.shared", { id: rec.sharedRecordId })) : null,
    rec.holdQueueLength ? h("p", {}, t("rec.holds", { n: number(rec.holdQueueLength) })) : null,
    h("p", {}, h("a", { href: `#/desk/${encodeURIComponent(rec.id)}` }, t("rec.placeHold"))),
    h("p", { id: "copies-status", role: "status", "aria-live": "polite" }),
    copies,
    h("details", {}, h("summary", {}, t("item.add")), add),
    rec.items.length ? copyHistory(rec.items) : null,
    await holdingsOf(rec.id),
    h("section", { "aria-labelledby": "marc-title" }, h("h3", { id: "marc-title" }, t("rec.marc")),
      rec.marcxml ? marcView(rec.marcxml) : h("p", {}, t("rec.marcNone"))),
    h("details", {}, h("summary", {}, t("history.record")), await auditTrail(t("history.record"),
      async (before) => (await gql(RECORD_HISTORY, { id: rec.id, first: 20, before })).recordHistory)));
}

/** Who did what to a copy (and its loans), for the copy chosen. */
function copyHistory(items) {
  const slot = h("div", {});
  const which = form(t("history.copy"), {
    barcode: field(t("col.barcode"), { tag: "select", options: items.map((i) => [i.barcode, i.barcode]) }),
  }, t("history.show"), async (values) => {
    fill(slot, await auditTrail(t("history.copyOf", { barcode: values.barcode }), async (before) =>
      (await gql(ITEM_HISTORY, { barcode: values.barcode, first: 20, before })).itemHistory));
    return "";
  });
  return h("details", {}, h("summary", {}, t("history.copy")), which, slot);
}

// The MARCXML is parsed as XML (never as HTML) under a named Trusted Types policy.
const xmlPolicy = window.trustedTypes
  ? window.trustedTypes.createPolicy("marcxml", { createHTML: (text) => text })
  : { createHTML: (text) => text };

function marcView(marcxml) {
  const doc = new DOMParser().parseFromString(xmlPolicy.createHTML(marcxml), "application/xml");
  const lines = [];
  for (const node of doc.getElementsByTagNameNS("*", "record")[0]?.children || []) {
    if (node.localName === "leader") lines.push(["LDR", "", node.textContent]);
    else if (node.localName === "controlfield") lines.push([node.getAttribute("tag"), "", node.textContent]);
    else if (node.localName === "datafield") {
      const subfields = [...node.children].map((s) => `$${s.getAttribute("code")} ${s.textContent}`);
      lines.push([node.getAttribute("tag"),
        `${node.getAttribute("ind1") || " "}${node.getAttribute("ind2") || " "}`.replace(/ /g, "#"),
        subfields.join(" ")]);
    }
  }
  return h("table", { class: "marc" }, h("caption", {}, t("rec.marc")),
    h("tbody", {}, lines.map(([tag, ind, text]) => h("tr", {},
      h("th", { scope: "row" }, tag), h("td", { class: "ind" }, ind), h("td", {}, text)))));
}

export async function imports(main) {
  const progress = h("progress", { max: "1", value: "0", "aria-labelledby": "import-progress-label" });
  const progressText = h("p", { id: "import-progress-text", role: "status", "aria-live": "polite" });
  const report = h("div", { id: "import-report" });
  const fields = { file: field(t("imp.file"), { type: "file", required: true,
    accept: ".mrc,.marc,.xml,.iso,application/marc,application/marcxml+xml" }) };
  const upload = form(t("imp.title"), fields, t("imp.start"), async (values) => {
    fill(report);
    progress.value = 0;
    const started = await rest("POST", "/catalog/imports", { body: values.file,
      headers: { "Content-Type": "application/octet-stream" } })
      .catch((error) => { error.field = "file"; throw error; });
    await follow(started.import_id, progress, progressText, report);
    earlier.replaceWith(earlier = await history());
    return "";
  });
  let earlier = await history();
  fill(main, h("h2", { tabindex: "-1" }, t("imp.title")), upload,
    h("section", { "aria-labelledby": "import-progress-label" },
      h("h3", { id: "import-progress-label" }, t("imp.progress")), progress, progressText, report),
    earlier);
}

/** Polls an import until it ends, showing progress, then its per-record report. */
async function follow(id, progress, progressText, report) {
  for (;;) {
    const job = await rest("GET", `/catalog/imports/${encodeURIComponent(id)}`);
    progress.value = job.progress;
    const so = job.result || {};
    if (job.status === "running") {
      progressText.textContent = t("imp.running", { percent: percent(job.progress),
        size: bytes(job.bytes_total), created: number(so.created || 0) });
      await new Promise((resolve) => setTimeout(resolve, 400));
      continue;
    }
    if (job.status !== "done") {
      progressText.textContent = t("imp.failed", { error: job.error || job.status });
      return;
    }
    progress.value = 1;
    progressText.textContent = t("imp.done", { created: number(so.created), updated: number(so.updated),
      unchanged: number(so.unchanged), skipped: number(so.skipped), items: number(so.items_added) });
    fill(report,
      so.errors.length ? table(t("imp.errors"), [t("col.record"), t("col.offset"), t("col.reason")],
        so.errors.map((e) => [number(e.record), number(e.offset), e.reason])) : h("p", {}, t("imp.clean")),
      so.warnings.length ? table(t("imp.warnings"), [t("col.record"), t("col.offset"), t("col.field"),
        t("col.reason")], so.warnings.map((w) => [number(w.record), number(w.offset), w.field, w.reason]))
        : null);
    return;
  }
}

async function history() {
  const body = h("tbody", {});
  let after = null;
  const more = async () => {
    const page = await rest("GET", `/catalog/imports?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    for (const job of page.imports) {
      const c = job.counts || {};
      body.append(h("tr", {}, h("td", {}, dateTime(job.started_at)), h("td", {}, job.status),
        h("td", {}, percent(job.progress)),
        h("td", {}, c.created === undefined ? "" : t("imp.done", { created: number(c.created),
          updated: number(c.updated), unchanged: number(c.unchanged), skipped: number(c.skipped),
          items: number(c.items_added) }))));
    }
    after = page.next_cursor;
    return Boolean(after);
  };
  const again = await more();
  return h("section", {}, h("table", {}, h("caption", {}, t("imp.history")),
    h("thead", {}, h("tr", {}, [t("col.started"), t("col.status"), t("col.progress"), t("col.result")]
      .map((text) => h("th", { scope: "col" }, text)))), body), again ? pager(more) : null);
}
