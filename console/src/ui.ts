// DOM helpers shared by the pages: element building (text is always set as text, never as
// HTML: object keys and server messages cannot inject markup), sizes, dates, errors and a
// confirmation dialog.
import { ApiError } from "./api";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | number | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...kids: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, ...kids);
  return el;
}

export function append(el: Node, ...kids: Child[]): void {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    el.appendChild(typeof k === "string" || typeof k === "number" ? document.createTextNode(String(k)) : k);
  }
}

export function clear(el: Element, ...kids: Child[]): void {
  el.replaceChildren();
  append(el, ...kids);
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

export function count(n: number): string {
  return Number.isFinite(n) ? n.toLocaleString("en-US") : "–";
}

export function date(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// The server's refusal, as it said it: code and message. Never a blank page.
export function errorBox(e: unknown): HTMLElement {
  if (e instanceof ApiError) {
    return h("div", { class: "error", role: "alert" }, h("strong", {}, e.code), ": ", e.message);
  }
  return h("div", { class: "error", role: "alert" }, String(e instanceof Error ? e.message : e));
}

export function notice(text: string, kind: "ok" | "error" = "ok"): void {
  const area = document.getElementById("notices")!;
  const n = h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  area.appendChild(n);
  setTimeout(() => n.remove(), kind === "error" ? 10000 : 4000);
}

// A modal question; resolves true when the user confirms.
export function confirmDialog(question: string, action = "Delete"): Promise<boolean> {
  return new Promise((resolve) => {
    const dlg = h("dialog", { class: "confirm" });
    const done = (v: boolean) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    append(
      dlg,
      h("p", {}, question),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => done(false) }, "Cancel"),
        h("button", { type: "button", class: "danger", onclick: () => done(true) }, action),
      ),
    );
    dlg.addEventListener("cancel", () => done(false));
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

// A button that asks first: once confirmed, runs fn as act() does.
export function onConfirmed(btn: HTMLButtonElement, question: string, fn: () => Promise<void>): void {
  btn.addEventListener("click", () => {
    void confirmDialog(question).then((yes) => (yes ? act(btn, fn) : undefined));
  });
}

// A table; rows are arrays of cells.
export function table(headers: string[], rows: Child[][], cls = ""): HTMLTableElement {
  return h(
    "table",
    { class: cls },
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}

export function link(href: string, text: string, attrs: Attrs = {}): HTMLAnchorElement {
  return h("a", { href, ...attrs }, text);
}

// Runs an action from a button: disables it meanwhile and reports a refusal.
export async function act(btn: HTMLButtonElement | null, fn: () => Promise<void>): Promise<void> {
  if (btn) btn.disabled = true;
  try {
    await fn();
  } catch (e) {
    notice(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e), "error");
  } finally {
    if (btn) btn.disabled = false;
  }
}
