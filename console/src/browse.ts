// Browsing a bucket: prefixes as folders, one page of keys at a time (S3's continuation
// tokens: a bucket of millions of keys costs one page per view), search by prefix, sort
// within the page, breadcrumbs, and a URL (#/b/BUCKET?prefix=...&q=...&sort=...) that can
// be bookmarked. Uploads by drag and drop or by picking files or a folder.
import type { Ctx } from "./main";
import { href } from "./main";
import { act, append, bytes, clear, date, h, notice, onConfirmed } from "./ui";
import { Upload, collectDropped } from "./upload";

const PAGE = 200;

export async function renderBrowse(c: Ctx, page: HTMLElement, bucket: string, params: URLSearchParams): Promise<void> {
  const prefix = params.get("prefix") ?? "";
  const q = params.get("q") ?? "";
  const sort = params.get("sort") ?? "name";
  const link = (over: Record<string, string>) => href(["b", bucket], { prefix, q, sort, ...over });

  // Breadcrumbs: Buckets / bucket / a / b /
  const crumbs = h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "#/" }, "Buckets"), " / ", h("a", { href: href(["b", bucket]) }, bucket));
  let acc = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    acc += part + "/";
    append(crumbs, " / ", h("a", { href: href(["b", bucket], { prefix: acc }) }, part));
  }

  const search = h("input", { type: "search", id: "search", placeholder: "Search by prefix", value: q, spellcheck: "false", "aria-label": "Search by prefix" });
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") location.hash = link({ q: search.value });
  });
  const sorter = h(
    "select",
    { id: "sort", "aria-label": "Sort" },
    ...[
      ["name", "Name"],
      ["size", "Size, largest first"],
      ["date", "Last modified, newest first"],
    ].map(([v, t]) => h("option", { value: v, selected: v === sort }, t)),
  );
  sorter.addEventListener("change", () => (location.hash = link({ sort: sorter.value })));
  const files = h("input", { type: "file", multiple: true, id: "upload-files", class: "hidden" });
  const folder = h("input", { type: "file", id: "upload-folder", class: "hidden" });
  folder.setAttribute("webkitdirectory", "");
  const uploads = h("section", { class: "uploads", "aria-label": "Uploads" });
  // When an upload ends, the listing is read again (the upload's report stays).
  let relist = async () => {};
  const start = (list: { file: File; path: string }[]) => {
    const up = new Upload(c.api, bucket, prefix, list, uploads);
    void up.run().then(() => {
      if (up.finished && location.hash === here) void relist();
    });
  };
  files.addEventListener("change", () => start(Array.from(files.files ?? [], (f) => ({ file: f, path: f.name }))));
  folder.addEventListener("change", () => start(Array.from(folder.files ?? [], (f) => ({ file: f, path: f.webkitRelativePath || f.name }))));
  const here = location.hash;

  const toolbar = h(
    "div",
    { class: "toolbar" },
    search,
    sorter,
    h("button", { type: "button", onclick: () => files.click() }, "Upload files"),
    h("button", { type: "button", onclick: () => folder.click() }, "Upload folder"),
    h("a", { href: href(["s", bucket]), class: "button" }, "Bucket settings"),
    files,
    folder,
  );
  const listing = h("div", { class: "listing" }, h("p", { class: "muted" }, "Loading…"));
  const drop = h("div", { class: "dropzone", id: "dropzone" }, "Drop files or folders here to upload them to ", h("code", {}, `${bucket}/${prefix}`));
  clear(page, crumbs, h("h1", {}, prefix ? prefix : bucket), toolbar, drop, uploads, listing);

  page.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  page.addEventListener("dragleave", () => drop.classList.remove("over"));
  page.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    if (ev.dataTransfer) void collectDropped(ev.dataTransfer).then(start);
  });

  // Pages: the tokens of the pages before this one, so "Previous" needs no refetching.
  const tokens: (string | null)[] = [null];
  let at = 0;
  const show = async () => {
    const res = await c.api.list(bucket, prefix + q, tokens[at], PAGE);
    const objects = res.objects.filter((o) => o.key !== prefix);
    if (sort === "size") objects.sort((a, b) => b.size - a.size);
    if (sort === "date") objects.sort((a, b) => b.lastModified.localeCompare(a.lastModified));
    if (res.nextToken && tokens.length === at + 1) tokens.push(res.nextToken);
    const rows: HTMLElement[] = [];
    for (const p of res.prefixes) {
      const name = p.slice(prefix.length);
      rows.push(h("tr", { class: "folder" }, h("td", {}, h("a", { href: href(["b", bucket], { prefix: p, sort }) }, "📁 " + name)), h("td", {}), h("td", {}), h("td", {})));
    }
    for (const o of objects) {
      const dl = h("button", { type: "button", class: "small" }, "Download");
      dl.addEventListener("click", () => void act(dl, async () => download(await c.api.presign(bucket, o.key, 300, undefined, true))));
      const del = h("button", { type: "button", class: "small danger" }, "Delete");
      onConfirmed(del, `Delete ${o.key}?`, async () => {
        await c.api.deleteObject(bucket, o.key);
        notice(`Deleted ${o.key}`);
        await show();
      });
      rows.push(
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: href(["o", bucket], { key: o.key }) }, o.key.slice(prefix.length))),
          h("td", { class: "num" }, bytes(o.size)),
          h("td", {}, date(o.lastModified)),
          h("td", { class: "row-actions" }, dl, del),
        ),
      );
    }
    const prev = h("button", { type: "button", disabled: at === 0 }, "Previous page");
    const next = h("button", { type: "button", disabled: !res.nextToken }, "Next page");
    prev.addEventListener("click", () => {
      at--;
      void show();
    });
    next.addEventListener("click", () => {
      at++;
      void show();
    });
    clear(
      listing,
      rows.length
        ? h("table", { class: "objects" }, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Size"), h("th", {}, "Last modified"), h("th", {}))), h("tbody", {}, ...rows))
        : h("p", { class: "muted" }, q ? `Nothing starts with ${prefix + q}.` : "Empty."),
      h("div", { class: "pager" }, prev, h("span", { class: "page-no" }, `Page ${at + 1}`), next),
    );
  };
  relist = show;
  await show();
}

// Starts a browser download of a (presigned) URL.
export function download(url: string): void {
  const a = h("a", { href: url, download: "" });
  document.body.appendChild(a);
  a.click();
  a.remove();
}
