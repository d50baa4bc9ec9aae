// The bucket list (with the object counts and bytes the server keeps exact), bucket
// creation and deletion, and snapshots.
import { Usage } from "./api";
import type { Ctx } from "./main";
import { href } from "./main";
import { act, append, bytes, clear, count, date, errorBox, h, notice, onConfirmed, table } from "./ui";

export async function renderBuckets(c: Ctx, page: HTMLElement): Promise<void> {
  clear(page, h("h1", {}, "Buckets"));
  const name = h("input", { id: "new-bucket", placeholder: "bucket-name", required: true, pattern: "[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]", spellcheck: "false" });
  const versioning = h("input", { type: "checkbox", id: "new-versioning" });
  const lock = h("input", { type: "checkbox", id: "new-lock" });
  lock.addEventListener("change", () => {
    if (lock.checked) versioning.checked = true; // Object Lock needs versioning
  });
  const create = h("button", { type: "submit", class: "primary" }, "Create bucket");
  const form = h(
    "form",
    { class: "inline", "aria-label": "Create a bucket" },
    h("label", { for: "new-bucket" }, "New bucket"),
    name,
    h("label", { class: "check" }, versioning, "Versioning"),
    h("label", { class: "check" }, lock, "Object Lock"),
    create,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void act(create, async () => {
      await c.api.createBucket(name.value, { versioning: versioning.checked, objectLock: lock.checked });
      notice(`Created ${name.value}`);
      await renderBuckets(c, page);
    });
  });
  append(page, form);
  const list = await c.api.listBuckets();
  if (list.length === 0) {
    append(page, h("p", { class: "muted" }, "No buckets yet."));
    return;
  }
  const rows = list.map((b) => {
    const objects = h("span", { class: "num" }, "…");
    const size = h("span", { class: "num" }, "…");
    const del = h("button", { type: "button", class: "danger small", disabled: true, title: "Only an empty bucket can be deleted" }, "Delete");
    void c.api.usage(b.name).then(
      (u: Usage) => {
        objects.textContent = count(u.objects);
        size.textContent = bytes(u.bytes);
        if (u.versions > u.objects) size.title = `${count(u.versions)} versions, ${bytes(u.versionBytes)} in all`;
        del.disabled = u.versions !== 0;
      },
      () => {
        objects.textContent = "–";
        size.textContent = "–";
        del.disabled = false;
      },
    );
    onConfirmed(del, `Delete the empty bucket ${b.name}?`, async () => {
      await c.api.deleteBucket(b.name);
      notice(`Deleted ${b.name}`);
      await renderBuckets(c, page);
    });
    return [
      h("a", { href: href(["b", b.name]) }, b.name),
      objects,
      size,
      date(b.created),
      h("span", { class: "row-actions" }, h("a", { href: href(["s", b.name]), class: "button small" }, "Settings"), del),
    ];
  });
  append(page, table(["Name", "Objects", "Size", "Created", ""], rows, "buckets"));
}

export async function renderSnapshots(c: Ctx, page: HTMLElement): Promise<void> {
  clear(page, h("h1", {}, "Snapshots"), h("p", { class: "muted" }, "A snapshot is a read-only bucket showing a versioned bucket as it was when it was taken."));
  let snaps: { name: string; bucket: string; created: string }[];
  try {
    snaps = (await c.api.admin<{ snapshots: typeof snaps }>("GET", "snapshots")).snapshots;
  } catch (e) {
    append(page, errorBox(e));
    return;
  }
  const buckets = (await c.api.listBuckets()).map((b) => b.name).filter((n) => !snaps.some((s) => s.name === n));
  const src = h("select", { id: "snap-source" }, ...buckets.map((b) => h("option", { value: b }, b)));
  const name = h("input", { id: "snap-name", placeholder: "snapshot-name", required: true, spellcheck: "false" });
  const btn = h("button", { type: "submit", class: "primary" }, "Create snapshot");
  const form = h("form", { class: "inline", "aria-label": "Create a snapshot" }, h("label", { for: "snap-source" }, "Of bucket"), src, h("label", { for: "snap-name" }, "Name"), name, btn);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void act(btn, async () => {
      await c.api.admin("PUT", `snapshots/${encodeURIComponent(name.value)}`, { bucket: src.value });
      notice(`Snapshot ${name.value} of ${src.value} taken`);
      await renderSnapshots(c, page);
    });
  });
  append(page, form);
  if (snaps.length === 0) {
    append(page, h("p", { class: "muted" }, "No snapshots."));
    return;
  }
  append(
    page,
    table(
      ["Snapshot", "Of", "Taken", ""],
      snaps.map((s) => {
        const del = h("button", { type: "button", class: "danger small" }, "Delete");
        onConfirmed(del, `Delete snapshot ${s.name}? The versions it holds become collectable.`, async () => {
          await c.api.admin("DELETE", `snapshots/${encodeURIComponent(s.name)}`);
          await renderSnapshots(c, page);
        });
        return [h("a", { href: href(["b", s.name]) }, s.name), h("a", { href: href(["b", s.bucket]) }, s.bucket), date(s.created), del];
      }),
    ),
  );
}
