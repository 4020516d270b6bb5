// Small DOM helpers: elements built node by node (the page runs under Trusted Types),
// labelled form fields whose errors are announced next to them, a pager.
import { t } from "./i18n.js";

/** An element: h("p", {class: "x"}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "rect", "line", "polyline", "text", "g", "circle", "title"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
                 : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let serial = 0;

/** A labelled input whose error, if any, is shown and announced beside it. */
export function field(label, attrs = {}, hint = null) {
  const id = `f${++serial}`;
  const tag = attrs.tag || "input";
  const { tag: _tag, options, ...rest } = attrs;
  const input = tag === "select"
    ? h("select", { id, ...rest }, (options || []).map(([value, text]) =>
        h("option", { value }, text)))
    : h(tag, { id, ...rest });
  const error = h("p", { id: `${id}-error`, class: "field-error", "aria-live": "polite" });
  const hintEl = hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null;
  input.setAttribute("aria-describedby", [hintEl ? `${id}-hint` : "", `${id}-error`]
    .filter(Boolean).join(" "));
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl, error);
  wrap.input = input;
  wrap.showError = (message) => {
    error.textContent = message || "";
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
  return wrap;
}

/** A form: fields, a submit button, a status line; `run` gets the values and may throw
 * an error with `.field` naming the field it concerns. A field is what `field` makes, or
 * any element with `input` (to focus), `showError` and `value()`. */
export function form(name, fields, submitLabel, run) {
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "submit" }, submitLabel);
  const el = h("form", { "aria-label": name, novalidate: true },
    Object.values(fields), h("div", { class: "actions" }, button), status);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    for (const f of Object.values(fields)) f.showError("");
    const values = {};
    for (const [key, f] of Object.entries(fields)) {
      values[key] = f.value ? f.value()
        : f.input.type === "file" ? f.input.files[0] : f.input.value.trim();
      if (f.input.required && !values[key]) {
        f.showError(t("error.required"));
        f.input.focus();
        return;
      }
    }
    button.disabled = true;
    status.textContent = t("working");
    try {
      const message = await run(values, status);
      status.textContent = message || "";
    } catch (error) {
      const target = fields[error.field] || Object.values(fields)[0];
      status.textContent = "";
      if (target) {
        target.showError(error.message);
        target.input.focus();
      } else {
        status.textContent = error.message;
      }
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

/** A "next page" control that calls `more` until it says there is no more. */
export function pager(more) {
  const button = h("button", { type: "button", class: "secondary" }, t("list.more"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    const again = await more();
    button.disabled = false;
    if (!again) button.remove();
  });
  return button;
}

/** A table with a caption: rows are arrays of cells (nodes or text). */
export function table(caption, headers, rows) {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell) => h("td", {}, cell))))));
}

/** A fresh idempotency key for one attempt of a command. */
export function newKey() {
  return crypto.randomUUID();
}
