// Inventory: the library's shelf scans, uploading a robot's batch, and a scan's shelf map
// (the service's SVG: misplaced and missing books highlighted) with its CSV export.
import { gql, rest } from "./api.js";
import { h, fill, field, form, pager, table } from "./dom.js";
import { t, dateTime, number } from "./i18n.js";

const PAGE = 20;
const SCANS = `query Scans($first: Int!) { inventoryScans(first: $first) {
  id shelf robot status reads tags uploadedAt } }`;
const SCAN = `query Scan($id: ID!) { inventoryScan(id: $id) { id shelf robot status reason reads tags
  report { svg csv located { barcode } misplaced { barcode callNumber x belongsAfter }
           missing { barcode callNumber belongsAfter } } } }`;

export async function page(main) {
  const scans = (await gql(SCANS, { first: 200 })).inventoryScans;
  const body = h("tbody", {});
  let shown = 0;
  const more = () => {
    for (const s of scans.slice(shown, shown + PAGE)) {
      body.append(h("tr", {}, h("td", {}, dateTime(s.uploadedAt)), h("td", {}, s.shelf),
        h("td", {}, s.robot), h("td", {}, s.status), h("td", {}, number(s.reads)),
        h("td", {}, number(s.tags)),
        h("td", {}, h("a", { href: `#/scan/${encodeURIComponent(s.id)}` }, t("inv.open", { shelf: s.shelf })))));
    }
    shown += PAGE;
    return shown < scans.length;
  };
  const upload = form(t("inv.upload"), {
    batch: field(t("inv.upload"), { type: "file", required: true, accept: ".ndjson,.jsonl,.json,.gz" }),
  }, t("inv.uploadBtn"), async (values) => {
    const gz = values.batch.name.endsWith(".gz");
    const started = await rest("POST", "/robots/scans", { body: values.batch, headers: {
      "Content-Type": "application/x-ndjson", ...(gz ? { "Content-Encoding": "gzip" } : {}) } })
      .catch((error) => { error.field = "batch"; throw error; });
    window.location.hash = `#/scan/${encodeURIComponent(started.scan_id)}`;
    return t("inv.uploaded");
  });
  fill(main, h("h2", { tabindex: "-1" }, t("inv.title")), upload,
    h("table", {}, h("caption", {}, t("inv.title")), h("thead", {}, h("tr", {},
      [t("col.started"), t("col.shelf"), t("col.robot"), t("col.status"), t("col.reads"), t("col.tags"),
        t("scan.map")].map((text) => h("th", { scope: "col" }, text)))), body),
    more() ? pager(async () => more()) : null);
}

export async function scan(main, id) {
  const status = h("p", { role: "status", "aria-live": "polite" }, t("scan.progress"));
  const progress = h("progress", { "aria-label": t("scan.progress") });
  fill(main, h("h2", { tabindex: "-1" }, t("inv.title")), status, progress);
  let found;
  for (;;) {
    found = (await gql(SCAN, { id })).inventoryScan;
    if (found.status === "done" || found.status === "failed") break;
    await new Promise((resolve) => setTimeout(resolve, 700));
    if (!main.contains(status)) return; // the reader went elsewhere
  }
  if (found.status === "failed") {
    fill(main, h("h2", { tabindex: "-1" }, t("scan.title", { shelf: found.shelf })),
      h("p", { role: "alert" }, t("scan.failed", { reason: found.reason || "" })));
    return;
  }
  const report = found.report;
  const alt = t("scan.mapAlt", { shelf: found.shelf, located: number(report.located.length),
    misplaced: number(report.misplaced.length), missing: number(report.missing.length) });
  const csv = h("a", { href: URL.createObjectURL(new Blob([report.csv], { type: "text/csv" })),
    download: `scan-${found.shelf}.csv` }, t("scan.csv"));
  fill(main, h("h2", { tabindex: "-1" }, t("scan.title", { shelf: found.shelf })),
    h("p", { role: "status" }, alt),
    h("figure", { class: "shelf-map" },
      h("img", { id: "shelf-map", alt, src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(report.svg)}` }),
      h("figcaption", {}, t("scan.map"))),
    csv,
    table(t("scan.misplaced"), [t("col.barcode"), t("col.callNumber"), t("col.x"), t("col.belongsAfter")],
      report.misplaced.map((b) => [b.barcode, b.callNumber || "", number(b.x), b.belongsAfter || ""])),
    table(t("scan.missing"), [t("col.barcode"), t("col.callNumber"), t("col.belongsAfter")],
      report.missing.map((b) => [b.barcode, b.callNumber || "", b.belongsAfter || ""])));
}
