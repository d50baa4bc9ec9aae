// Administration through the admin API, signed like every other request: users, their
// access keys (a new or rotated secret is shown once), and identity policies (edit, attach,
// detach). A key without the right gets the server's AccessDenied, shown as it is.
import type { Ctx } from "./main";
import { act, append, clear, date, errorBox, h, notice, onConfirmed, table } from "./ui";

interface User {
  name: string;
  admin: boolean;
  policies: string[];
  keys: string[];
  created: string;
}
interface Key {
  access_key: string;
  user: string;
  enabled: boolean;
  created: string;
}
interface Policy {
  name: string;
  document: unknown;
  users: string[];
}

export async function renderAdmin(c: Ctx, page: HTMLElement, tab: string): Promise<void> {
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Administration" },
    h("a", { href: "#/admin/users", class: tab === "users" ? "active" : "" }, "Users and keys"),
    h("a", { href: "#/admin/policies", class: tab === "policies" ? "active" : "" }, "Policies"),
  );
  clear(page, h("h1", {}, "Administration"), tabs);
  const body = h("div", {});
  append(page, body);
  try {
    if (tab === "policies") await policies(c, body);
    else await users(c, body);
  } catch (e) {
    append(body, errorBox(e));
  }
}

// A secret, shown once, with the access key it belongs to.
function secretBox(k: { access_key: string; secret_key: string }): HTMLElement {
  return h(
    "div",
    { class: "secret", role: "alert" },
    h("p", {}, h("strong", {}, "Copy the secret now: it is not shown again.")),
    h("p", {}, "Access key: ", h("code", { class: "new-access-key" }, k.access_key)),
    h("p", {}, "Secret key: ", h("code", { class: "new-secret-key" }, k.secret_key)),
  );
}

async function users(c: Ctx, body: HTMLElement): Promise<void> {
  const [{ users: all }, { keys }, { policies: known }] = await Promise.all([
    c.api.admin<{ users: User[] }>("GET", "users"),
    c.api.admin<{ keys: Key[] }>("GET", "keys"),
    c.api.admin<{ policies: Policy[] }>("GET", "policies"),
  ]);
  const reload = () => users(c, body);
  const name = h("input", { id: "new-user", placeholder: "user-name", required: true, spellcheck: "false" });
  const admin = h("input", { type: "checkbox", id: "new-user-admin" });
  const add = h("button", { type: "submit", class: "primary" }, "Create user");
  const form = h("form", { class: "inline", "aria-label": "Create a user" }, h("label", { for: "new-user" }, "New user"), name, h("label", { class: "check" }, admin, "Administrator"), add);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void act(add, async () => {
      await c.api.admin("PUT", `users/${encodeURIComponent(name.value)}`, { admin: admin.checked });
      notice(`Created ${name.value}`);
      await reload();
    });
  });
  const shown = h("div", { class: "shown-secret" });
  clear(body, form, shown);
  for (const u of all) {
    const mine = keys.filter((k) => k.user === u.name);
    const newKey = h("button", { type: "button", class: "small primary" }, "Create key");
    newKey.addEventListener("click", () =>
      void act(newKey, async () => {
        const k = await c.api.admin<{ access_key: string; secret_key: string }>("POST", `users/${encodeURIComponent(u.name)}/keys`);
        await reload();
        clear(body.querySelector(".shown-secret")!, secretBox(k));
      }),
    );
    const delUser = h("button", { type: "button", class: "small danger" }, "Delete user");
    onConfirmed(delUser, `Delete user ${u.name}, its keys and its sessions?`, async () => {
      await c.api.admin("DELETE", `users/${encodeURIComponent(u.name)}`);
      await reload();
    });
    const attachSel = h("select", { "aria-label": `Policy to attach to ${u.name}` }, ...known.filter((p) => !u.policies.includes(p.name)).map((p) => h("option", { value: p.name }, p.name)));
    const attach = h("button", { type: "button", class: "small", disabled: attachSel.options.length === 0 }, "Attach");
    attach.addEventListener("click", () =>
      void act(attach, async () => {
        await c.api.admin("PUT", `users/${encodeURIComponent(u.name)}/policies/${encodeURIComponent(attachSel.value)}`);
        await reload();
      }),
    );
    const policyCells = u.policies.map((p) => {
      const detach = h("button", { type: "button", class: "small", title: `Detach ${p}` }, "×");
      detach.addEventListener("click", () =>
        void act(detach, async () => {
          await c.api.admin("DELETE", `users/${encodeURIComponent(u.name)}/policies/${encodeURIComponent(p)}`);
          await reload();
        }),
      );
      return h("span", { class: "chip" }, p, detach);
    });
    const keyRows = mine.map((k) => {
      const toggle = h("button", { type: "button", class: "small" }, k.enabled ? "Disable" : "Enable");
      toggle.addEventListener("click", () =>
        void act(toggle, async () => {
          await c.api.admin("POST", `keys/${encodeURIComponent(k.access_key)}/${k.enabled ? "disable" : "enable"}`);
          await reload();
        }),
      );
      const rotate = h("button", { type: "button", class: "small" }, "Rotate");
      rotate.title = "Create a new key and disable this one";
      rotate.addEventListener("click", () =>
        void act(rotate, async () => {
          const n = await c.api.admin<{ access_key: string; secret_key: string }>("POST", `keys/${encodeURIComponent(k.access_key)}/rotate`);
          await reload();
          clear(body.querySelector(".shown-secret")!, secretBox(n));
        }),
      );
      const del = h("button", { type: "button", class: "small danger" }, "Delete");
      onConfirmed(del, `Delete key ${k.access_key}?`, async () => {
        await c.api.admin("DELETE", `keys/${encodeURIComponent(k.access_key)}`);
        await reload();
      });
      return [h("code", {}, k.access_key), k.enabled ? "enabled" : "disabled", date(k.created), h("span", { class: "row-actions" }, toggle, rotate, del)];
    });
    append(
      body,
      h(
        "section",
        { class: "user", "data-user": u.name },
        h("h2", {}, u.name, u.admin ? h("span", { class: "badge" }, "admin") : null),
        h("div", { class: "toolbar" }, newKey, attachSel, attach, delUser),
        h("p", {}, "Policies: ", ...(policyCells.length ? policyCells : [h("span", { class: "muted" }, "none")])),
        keyRows.length ? table(["Access key", "State", "Created", ""], keyRows, "keys") : h("p", { class: "muted" }, "No keys."),
      ),
    );
  }
}

async function policies(c: Ctx, body: HTMLElement): Promise<void> {
  const { policies: list } = await c.api.admin<{ policies: Policy[] }>("GET", "policies");
  const name = h("input", { id: "policy-name", placeholder: "policy-name", required: true, spellcheck: "false", "aria-label": "Policy name" });
  const doc = h("textarea", { id: "policy-document", rows: 14, spellcheck: "false", "aria-label": "Policy document" });
  doc.value = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket"], Resource: ["arn:aws:s3:::datasets", "arn:aws:s3:::datasets/*"] }] }, null, 2);
  const status = h("div", { class: "editor-status" });
  const save = h("button", { type: "button", class: "primary" }, "Save policy");
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      await c.api.admin("PUT", `policies/${encodeURIComponent(name.value)}`, doc.value);
      notice(`Saved ${name.value}`);
      await policies(c, body);
    } catch (e) {
      clear(status, errorBox(e));
    } finally {
      save.disabled = false;
    }
  });
  const rows = list.map((p) => {
    const edit = h("button", { type: "button", class: "small" }, "Edit");
    edit.addEventListener("click", () => {
      name.value = p.name;
      doc.value = typeof p.document === "string" ? p.document : JSON.stringify(p.document, null, 2);
      doc.focus();
    });
    const del = h("button", { type: "button", class: "small danger" }, "Delete");
    onConfirmed(del, `Delete policy ${p.name}?`, async () => {
      await c.api.admin("DELETE", `policies/${encodeURIComponent(p.name)}`);
      await policies(c, body);
    });
    return [p.name, p.users.join(", ") || "–", h("span", { class: "row-actions" }, edit, del)];
  });
  clear(
    body,
    list.length ? table(["Policy", "Attached to", ""], rows, "policies") : h("p", { class: "muted" }, "No policies."),
    h("section", {}, h("h2", {}, "Edit a policy"), name, doc, h("div", { class: "toolbar" }, save), status),
  );
}
