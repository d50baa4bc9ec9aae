// One object: its details (size, ETag, checksums, type, metadata, tags, retention, legal
// hold, replication status), a preview (text, JSON, images, the members of a tar shard),
// download, delete, a presigned share link with a chosen expiry, and its versions (download
// one, restore one as the latest, delete one).
import { ApiError } from "./api";
import { download } from "./browse";
import type { Ctx } from "./main";
import { href } from "./main";
import { act, append, bytes, clear, count, date, errorBox, h, notice, onConfirmed, table } from "./ui";

const TEXT_PREVIEW = 64 << 10;
const TEXT_EXT = /\.(txt|log|md|csv|tsv|json|jsonl|yaml|yml|xml|py|sh|cfg|ini|toml|html|js|ts)$/i;
const IMAGE_EXT = /\.(png|jpe?g|gif|webp|bmp|svg)$/i;

export async function renderObject(c: Ctx, page: HTMLElement, bucket: string, params: URLSearchParams): Promise<void> {
  const key = params.get("key") ?? "";
  const versionId = params.get("versionId") ?? undefined;
  const dir = key.includes("/") ? key.slice(0, key.lastIndexOf("/") + 1) : "";
  clear(
    page,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "#/" }, "Buckets"), " / ", h("a", { href: href(["b", bucket]) }, bucket), dir ? " / " : "", dir ? h("a", { href: href(["b", bucket], { prefix: dir }) }, dir) : ""),
    h("h1", { class: "key" }, key.slice(dir.length) || key),
  );
  let head: Headers;
  try {
    head = await c.api.head(bucket, key, versionId);
  } catch (e) {
    append(page, errorBox(e instanceof ApiError && e.status === 404 ? new ApiError(404, "NoSuchKey", `${bucket}/${key} does not exist${versionId ? ` in version ${versionId}` : ""}`) : e));
    append(page, await versionsSection(c, bucket, key));
    return;
  }
  const size = Number(head.get("content-length") ?? 0);
  const type = head.get("content-type") ?? "";
  const rows: [string, string | Node][] = [
    ["Key", key],
    ["Size", `${bytes(size)} (${count(size)} bytes)`],
    ["ETag", head.get("etag") ?? ""],
    ["Content type", type],
    ["Last modified", date(new Date(head.get("last-modified") ?? "").toISOString())],
  ];
  if (head.get("x-amz-version-id")) rows.push(["Version", head.get("x-amz-version-id")!]);
  head.forEach((v, k) => {
    if (k.startsWith("x-amz-checksum-") && k !== "x-amz-checksum-type") rows.push([`Checksum ${k.slice(15).toUpperCase()}`, v]);
  });
  if (head.get("x-amz-checksum-type")) rows.push(["Checksum type", head.get("x-amz-checksum-type")!]);
  head.forEach((v, k) => {
    if (k.startsWith("x-amz-meta-")) rows.push([`Metadata ${k.slice(11)}`, v]);
  });
  const retention = head.get("x-amz-object-lock-mode");
  rows.push(["Retention", retention ? `${retention} until ${date(head.get("x-amz-object-lock-retain-until-date") ?? "")}` : "none"]);
  rows.push(["Legal hold", head.get("x-amz-object-lock-legal-hold") ?? "OFF"]);
  rows.push(["Replication", head.get("x-amz-replication-status") ?? "not replicated"]);
  const tagsCell = h("span", {}, "…");
  rows.push(["Tags", tagsCell]);
  void c.api.tags(bucket, key).then(
    (t) => (tagsCell.textContent = t.length ? t.map(([k, v]) => `${k}=${v}`).join(", ") : "none"),
    (e) => clear(tagsCell, e instanceof ApiError ? `${e.code}` : "–"),
  );

  const dl = h("button", { type: "button", class: "primary" }, "Download");
  dl.addEventListener("click", () => void act(dl, async () => download(await c.api.presign(bucket, key, 300, versionId, true))));
  const del = h("button", { type: "button", class: "danger" }, versionId ? "Delete this version" : "Delete");
  onConfirmed(del, versionId ? `Delete version ${versionId} of ${key} for good?` : `Delete ${key}?`, async () => {
    await c.api.deleteObject(bucket, key, versionId);
    notice(`Deleted ${key}`);
    location.hash = href(["b", bucket], { prefix: dir });
  });

  // A presigned link anyone can GET until it expires.
  const expiry = h(
    "select",
    { id: "share-expiry", "aria-label": "Link expires after" },
    ...[
      ["900", "15 minutes"],
      ["3600", "1 hour"],
      ["86400", "1 day"],
      ["604800", "7 days"],
    ].map(([v, t]) => h("option", { value: v, selected: v === "3600" }, t)),
  );
  const shareOut = h("input", { id: "share-url", readonly: true, class: "share-url", "aria-label": "Share link" });
  const share = h("button", { type: "button" }, "Create share link");
  share.addEventListener("click", () =>
    void act(share, async () => {
      shareOut.value = await c.api.presign(bucket, key, Number(expiry.value), versionId);
      shareOut.select();
      try {
        await navigator.clipboard.writeText(shareOut.value);
        notice("Link copied");
      } catch {
        /* the link is selected for copying by hand */
      }
    }),
  );

  append(
    page,
    h("div", { class: "toolbar" }, dl, del),
    h("section", {}, h("h2", {}, "Details"), table(["", ""], rows.map(([a, b]) => [h("strong", {}, a), b]), "details")),
    h("section", {}, h("h2", {}, "Share"), h("div", { class: "toolbar" }, h("label", { for: "share-expiry" }, "Expires after"), expiry, share), shareOut),
    h("section", {}, h("h2", {}, "Preview"), await preview(c, bucket, key, versionId, type, size)),
    await versionsSection(c, bucket, key),
  );
}

async function preview(c: Ctx, bucket: string, key: string, versionId: string | undefined, type: string, size: number): Promise<Node> {
  try {
    if (type.startsWith("image/") || IMAGE_EXT.test(key)) {
      return h("img", { src: await c.api.presign(bucket, key, 600, versionId), alt: key, class: "preview-image" });
    }
    if (/\.tar$/i.test(key) || type === "application/x-tar") {
      const members = await c.api.members(bucket, key);
      return h(
        "div",
        {},
        h("p", { class: "muted" }, `${count(members.length)} member${members.length === 1 ? "" : "s"}${members.length === 1000 ? " (the first 1,000)" : ""}`),
        table(["Member", "Size", "Offset"], members.map((m) => [m.name, bytes(m.size), count(m.offset)]), "members"),
      );
    }
    if (type.startsWith("text/") || type.includes("json") || type.includes("xml") || type.includes("yaml") || TEXT_EXT.test(key)) {
      if (size === 0) return h("p", { class: "muted" }, "Empty.");
      const buf = await c.api.range(bucket, key, Math.min(size, TEXT_PREVIEW));
      let text = new TextDecoder("utf-8", { fatal: false }).decode(buf);
      if ((type.includes("json") || /\.json$/i.test(key)) && size <= TEXT_PREVIEW) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          /* shown as it is */
        }
      }
      return h("div", {}, size > TEXT_PREVIEW ? h("p", { class: "muted" }, `The first ${bytes(TEXT_PREVIEW)} of ${bytes(size)}`) : null, h("pre", { class: "preview-text" }, text));
    }
    return h("p", { class: "muted" }, `No preview for ${type || "this type"}.`);
  } catch (e) {
    return errorBox(e);
  }
}

async function versionsSection(c: Ctx, bucket: string, key: string): Promise<HTMLElement> {
  const sec = h("section", { "aria-label": "Versions" }, h("h2", {}, "Versions"));
  let versions;
  try {
    versions = await c.api.versions(bucket, key);
  } catch (e) {
    append(sec, errorBox(e));
    return sec;
  }
  if (versions.length === 0 || (versions.length === 1 && versions[0].versionId === "null")) {
    append(sec, h("p", { class: "muted" }, "Only the current version: the bucket does not keep versions."));
    return sec;
  }
  const rows = versions.map((v) => {
    const label = v.deleteMarker ? "delete marker" : v.versionId;
    const actions = h("span", { class: "row-actions" });
    if (!v.deleteMarker) {
      const dl = h("button", { type: "button", class: "small" }, "Download");
      dl.addEventListener("click", () => void act(dl, async () => download(await c.api.presign(bucket, key, 300, v.versionId, true))));
      append(actions, dl);
      if (!v.isLatest) {
        const restore = h("button", { type: "button", class: "small primary" }, "Restore");
        restore.title = "Copy this version over the key: it becomes the latest, and the history keeps every version";
        restore.addEventListener("click", () =>
          void act(restore, async () => {
            const id = await c.api.restoreVersion(bucket, key, v.versionId);
            notice(`Restored: version ${v.versionId} is now the latest (${id})`);
            location.hash = href(["o", bucket], { key, t: String(Date.now()) });
          }),
        );
        append(actions, restore);
      }
    }
    const del = h("button", { type: "button", class: "small danger" }, "Delete");
    onConfirmed(del, `Delete ${v.deleteMarker ? "this delete marker" : `version ${v.versionId}`} of ${key} for good?`, async () => {
      await c.api.deleteObject(bucket, key, v.versionId);
      location.hash = href(["o", bucket], { key, t: String(Date.now()) });
    });
    append(actions, del);
    return [
      v.deleteMarker ? h("em", {}, label) : h("a", { href: href(["o", bucket], { key, versionId: v.versionId }) }, label),
      v.isLatest ? "latest" : "",
      v.deleteMarker ? "" : bytes(v.size),
      date(v.lastModified),
      actions,
    ];
  });
  append(sec, table(["Version", "", "Size", "Written", ""], rows, "versions"));
  return sec;
}
