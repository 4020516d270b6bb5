// The consortium's figures, plotted: loans and returns per day, the members' counts, and the
// collection overlap between each pair of members as a heat map. Each chart has its numbers
// in a table beside it (a chart alone says nothing to a screen reader).
import { gql, hasQuery } from "./api.js";
import { h, fill, table } from "./dom.js";
import { t, dateOnly, dateTime, number, percent } from "./i18n.js";

const COUNTS = "records items activePatrons holdsWaiting overdueLoans sharedRecordsContributed titlesHeld uniqueHoldings";
const ILL = "interlibrary { requests filled unfilled turnaroundHours }";
const FIGURES = `query Figures { consortiumFigures {
  since until asOf
  totals { ${COUNTS} daily { day loans returns } }
  members { member { slug name } figures { ${COUNTS} } ${ILL} }
  overlap { a { slug name } b { slug name } sharedTitles jaccard } } }`;
const COUNT_KEYS = COUNTS.split(" ");

export async function page(main) {
  const title = h("h2", { tabindex: "-1" }, t("nav.figures"));
  if (!(await hasQuery("consortiumFigures"))) {
    fill(main, title, h("p", { class: "notice", role: "status" }, t("unavailable", { feature: t("nav.figures") })));
    return;
  }
  const f = (await gql(FIGURES)).consortiumFigures;
  fill(main, title,
    h("p", {}, t("fig.period", { since: dateOnly(f.since), until: dateOnly(f.until), asOf: dateTime(f.asOf) })),
    h("dl", { class: "facts" }, COUNT_KEYS.map((key) => [h("dt", {}, t(`fig.${key}`)), h("dd", {}, number(f.totals[key]))])),
    h("h3", {}, t("fig.daily")), dailyChart(f.totals.daily),
    h("details", {}, h("summary", {}, t("fig.table")), table(t("fig.daily"), [t("fig.day"), t("fig.loans"), t("fig.returns")],
      f.totals.daily.map((d) => [dateOnly(d.day), number(d.loans), number(d.returns)]))),
    table(t("fig.members"), [t("col.library"), ...COUNT_KEYS.map((key) => t(`fig.${key}`))],
      f.members.map((m) => [m.member.name, ...COUNT_KEYS.map((key) => number(m.figures[key]))])),
    table(t("fig.ill"), [t("col.library"), t("fig.illRequests"), t("fig.illFilled"), t("fig.illUnfilled"),
      t("fig.illTurnaround")], f.members.map((m) => [m.member.name, number(m.interlibrary.requests),
      number(m.interlibrary.filled), number(m.interlibrary.unfilled),
      m.interlibrary.turnaroundHours === null ? "" : number(m.interlibrary.turnaroundHours)])),
    h("h3", {}, t("fig.overlap")), overlapMap(f.overlap),
    table(t("fig.overlap"), [t("col.library"), t("col.library"), t("fig.shared"), t("fig.jaccard")],
      f.overlap.map((o) => [o.a.name, o.b.name, number(o.sharedTitles), percent(o.jaccard)])));
}

/** Loans (solid) and returns (dashed) per day as an SVG line chart. */
function dailyChart(daily) {
  const width = 720;
  const height = 220;
  const pad = 40;
  const top = Math.max(1, ...daily.map((d) => Math.max(d.loans, d.returns)));
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(1, daily.length - 1);
  const y = (v) => height - pad - (v * (height - 2 * pad)) / top;
  const line = (key) => daily.map((d, i) => `${x(i).toFixed(1)},${y(d[key]).toFixed(1)}`).join(" ");
  const label = t("fig.chartLabel", { days: number(daily.length),
    loans: number(daily.reduce((sum, d) => sum + d.loans, 0)),
    returns: number(daily.reduce((sum, d) => sum + d.returns, 0)) });
  return h("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart" },
    h("title", {}, label),
    h("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, stroke: "#4a4a4a" }),
    h("line", { x1: pad, y1: pad, x2: pad, y2: height - pad, stroke: "#4a4a4a" }),
    h("text", { x: 4, y: pad, "font-size": 12, fill: "#1b1b1b" }, number(top)),
    h("text", { x: 4, y: height - pad, "font-size": 12, fill: "#1b1b1b" }, "0"),
    daily.length ? [
      h("text", { x: pad, y: height - 12, "font-size": 12, fill: "#1b1b1b" }, dateOnly(daily[0].day)),
      h("text", { x: width - pad, y: height - 12, "font-size": 12, fill: "#1b1b1b", "text-anchor": "end" },
        dateOnly(daily[daily.length - 1].day)),
      h("polyline", { points: line("loans"), fill: "none", stroke: "#0a4f8a", "stroke-width": 2 }),
      h("polyline", { points: line("returns"), fill: "none", stroke: "#a4001d", "stroke-width": 2,
        "stroke-dasharray": "6 4" })] : null,
    h("text", { x: width - pad, y: 16, "font-size": 12, fill: "#0a4f8a", "text-anchor": "end" }, `— ${t("fig.loans")}`),
    h("text", { x: width - pad, y: 32, "font-size": 12, fill: "#a4001d", "text-anchor": "end" }, `- - ${t("fig.returns")}`));
}

/** Each pair's shared titles over the titles either holds, darker for more overlap. */
function overlapMap(pairs) {
  const names = [...new Map(pairs.flatMap((o) => [[o.a.slug, o.a.name], [o.b.slug, o.b.name]])).entries()];
  const index = new Map(names.map(([slug], i) => [slug, i]));
  const cell = 56;
  const left = 160;
  const size = left + cell * names.length;
  const label = t("fig.overlapLabel", { members: number(names.length) });
  const shade = (j) => `rgb(${Math.round(242 - 232 * j)},${Math.round(245 - 166 * j)},${Math.round(248 - 110 * j)})`;
  return h("svg", { viewBox: `0 0 ${size} ${size}`, role: "img", "aria-label": label, class: "heatmap" },
    h("title", {}, label),
    names.map(([, name], i) => [
      h("text", { x: left - 6, y: left + cell * i + cell / 2 + 4, "font-size": 12, "text-anchor": "end", fill: "#1b1b1b" }, name),
      h("text", { x: left + cell * i + cell / 2, y: left - 6, "font-size": 12, "text-anchor": "start", fill: "#1b1b1b",
        transform: `rotate(-45 ${left + cell * i + cell / 2} ${left - 6})` }, name)]),
    pairs.flatMap((o) => [[o.a.slug, o.b.slug, o.jaccard], [o.b.slug, o.a.slug, o.jaccard]]).map(([a, b, j]) => {
      const cx = left + cell * index.get(b);
      const cy = left + cell * index.get(a);
      return h("g", {}, h("rect", { x: cx, y: cy, width: cell - 2, height: cell - 2, fill: shade(j) }),
        h("text", { x: cx + cell / 2 - 1, y: cy + cell / 2 + 4, "font-size": 11, "text-anchor": "middle",
          fill: j > 0.45 ? "#ffffff" : "#1b1b1b" }, percent(j)));
    }));
}
