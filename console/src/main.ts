// sluice's web console: sign-in, the layout and the hash router. Each page is a module
// that renders into #page from the route's parameters; every server call goes through
// Api, signed in this tab with the key the user typed. The key is kept in this tab's
// sessionStorage only (never a cookie, never sent anywhere but in signatures), and
// signing out clears it.
import { Api, ApiError, Credentials } from "./api";
import { renderAdmin } from "./admin";
import { renderBrowse } from "./browse";
import { renderBuckets, renderSnapshots } from "./buckets";
import { renderDashboard } from "./dashboard";
import { renderObject } from "./object";
import { renderSettings } from "./settings";
import { append, clear, errorBox, h } from "./ui";

export interface Ctx {
  api: Api;
  isAdmin: boolean;
  user: string;
}

const STORE = "sluice.console.credentials";
let ctx: Ctx | null = null;
let region = "us-east-1";

export interface Route {
  path: string[];
  params: URLSearchParams;
}

export function route(): Route {
  const hash = location.hash.replace(/^#/, "") || "/";
  const q = hash.indexOf("?");
  const path = (q < 0 ? hash : hash.slice(0, q)).split("/").filter(Boolean).map(decodeURIComponent);
  return { path, params: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)) };
}

export function href(path: string[], params: Record<string, string> = {}): string {
  const p = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ""));
  const qs = p.toString();
  return "#/" + path.map(encodeURIComponent).join("/") + (qs ? "?" + qs : "");
}

function saved(): Credentials | null {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORE) ?? "null");
    return c && c.accessKeyId && c.secretAccessKey ? c : null;
  } catch {
    return null;
  }
}

// Is this key an administrator's? The admin API answers it, like for any client.
async function probeAdmin(api: Api): Promise<boolean> {
  try {
    await api.admin("GET", "users");
    return true;
  } catch {
    return false;
  }
}

async function signIn(creds: Credentials): Promise<Ctx> {
  const api = new Api(creds, region);
  try {
    await api.listBuckets();
  } catch (e) {
    // A valid key without the right to list buckets still signs in; a key the server does
    // not know, or a wrong secret, does not.
    if (!(e instanceof ApiError) || e.code !== "AccessDenied") throw e;
  }
  return { api, isAdmin: await probeAdmin(api), user: creds.accessKeyId };
}

function signOut(): void {
  sessionStorage.removeItem(STORE);
  ctx = null;
  location.hash = "#/";
  render();
}

function signInPage(root: HTMLElement, error?: unknown): void {
  const ak = h("input", { id: "access-key", name: "access-key", autocomplete: "username", required: true, spellcheck: "false" });
  const sk = h("input", { id: "secret-key", name: "secret-key", type: "password", autocomplete: "current-password", required: true });
  const msg = h("div", { class: "signin-error" });
  if (error) append(msg, errorBox(error));
  const btn = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", "aria-label": "Sign in" },
    h("h1", {}, "sluice"),
    h("p", { class: "muted" }, "Sign in with an access key. Requests are signed in this tab; the secret never leaves it."),
    h("label", { for: "access-key" }, "Access key"),
    ak,
    h("label", { for: "secret-key" }, "Secret key"),
    sk,
    btn,
    msg,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    clear(msg);
    const creds = { accessKeyId: ak.value.trim(), secretAccessKey: sk.value };
    try {
      ctx = await signIn(creds);
      sessionStorage.setItem(STORE, JSON.stringify(creds));
      render();
    } catch (e) {
      append(msg, errorBox(e));
    } finally {
      btn.disabled = false;
    }
  });
  clear(root, form);
  ak.focus();
}

function nav(c: Ctx, active: string): HTMLElement {
  const item = (id: string, text: string, to: string) =>
    h("a", { href: to, class: active === id ? "active" : "", "aria-current": active === id ? "page" : undefined }, text);
  return h(
    "header",
    { class: "top" },
    h("a", { href: "#/", class: "brand" }, "sluice"),
    h(
      "nav",
      { "aria-label": "Main" },
      item("buckets", "Buckets", "#/"),
      item("snapshots", "Snapshots", "#/snapshots"),
      item("dashboard", "Dashboard", "#/dashboard"),
      c.isAdmin ? item("admin", "Administration", "#/admin/users") : null,
    ),
    h("span", { class: "who", title: c.isAdmin ? "administrator" : "user" }, c.user),
    h("button", { type: "button", class: "signout", onclick: signOut }, "Sign out"),
  );
}

let renderSeq = 0;

async function render(): Promise<void> {
  const app = document.getElementById("app")!;
  if (!window.isSecureContext) {
    clear(
      app,
      h(
        "div",
        { class: "error", role: "alert" },
        "The console signs requests with the browser's WebCrypto, which browsers allow only over HTTPS or on localhost. ",
        "Serve sluice with --tls-cert and --tls-key, or open it through localhost.",
      ),
    );
    return;
  }
  if (!ctx) {
    const creds = saved();
    if (creds) {
      try {
        ctx = await signIn(creds);
      } catch (e) {
        sessionStorage.removeItem(STORE);
        return signInPage(app, e);
      }
    } else {
      return signInPage(app);
    }
  }
  const c = ctx;
  const r = route();
  const seq = ++renderSeq;
  const section = r.path[0] === "b" || r.path[0] === "o" || r.path[0] === "s" || !r.path[0] ? "buckets" : r.path[0];
  const page = h("main", { id: "page" });
  clear(app, nav(c, section), h("div", { id: "notices", "aria-live": "polite" }), page);
  try {
    switch (r.path[0] ?? "") {
      case "":
        return await renderBuckets(c, page);
      case "b":
        return await renderBrowse(c, page, r.path[1], r.params);
      case "o":
        return await renderObject(c, page, r.path[1], r.params);
      case "s":
        return await renderSettings(c, page, r.path[1]);
      case "snapshots":
        return await renderSnapshots(c, page);
      case "dashboard":
        return await renderDashboard(c, page, () => seq === renderSeq);
      case "admin":
        return await renderAdmin(c, page, r.path[1] ?? "users");
      default:
        clear(page, h("h1", {}, "Not found"), h("p", {}, "No such page. "), h("a", { href: "#/" }, "Buckets"));
    }
  } catch (e) {
    append(page, errorBox(e));
  }
}

async function start(): Promise<void> {
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (res.ok) region = (await res.json()).region ?? region;
  } catch {
    /* the default region */
  }
  window.addEventListener("hashchange", () => void render());
  await render();
}

void start();
