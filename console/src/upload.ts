// Uploads from the browser: one signed PUT for a small file, a multipart upload for a large
// one (parts of PART bytes, PARALLEL at a time), each request an XMLHttpRequest so its
// progress shows as the bytes leave. Cancel aborts the requests in flight and the
// multipart upload on the server, which then holds nothing of it.
import { Api, errorOf } from "./api";
import { append, bytes, h } from "./ui";

const PART = 8 << 20;
const MULTIPART_FROM = 16 << 20;
const PARALLEL = 4;

class Cancelled extends Error {}

export class Upload {
  finished = false;
  private cancelled = false;
  private inflight = new Set<XMLHttpRequest>();
  private sent = 0;
  private readonly total: number;
  private readonly bar: HTMLProgressElement;
  private readonly label: HTMLElement;
  private readonly box: HTMLElement;

  constructor(
    private api: Api,
    private bucket: string,
    private prefix: string,
    private files: { file: File; path: string }[],
    area: HTMLElement,
  ) {
    this.total = files.reduce((n, f) => n + f.file.size, 0);
    this.bar = h("progress", { max: Math.max(1, this.total), value: 0, "aria-label": "Upload progress" });
    this.label = h("span", { class: "upload-label" }, `Uploading ${files.length} file${files.length === 1 ? "" : "s"}, ${bytes(this.total)}`);
    const cancel = h("button", { type: "button", class: "small" }, "Cancel");
    cancel.addEventListener("click", () => this.cancel());
    this.box = h("div", { class: "upload", role: "status" }, this.label, this.bar, cancel);
    append(area, this.box);
  }

  cancel(): void {
    this.cancelled = true;
    for (const x of this.inflight) x.abort();
  }

  async run(): Promise<void> {
    try {
      for (const f of this.files) {
        if (this.cancelled) throw new Cancelled();
        const key = this.prefix + f.path.replace(/^\/+/, "");
        if (f.file.size >= MULTIPART_FROM) await this.multipart(key, f.file);
        else await this.put(key, f.file);
      }
      this.finished = true;
      this.bar.value = this.total;
      this.label.textContent = `Uploaded ${this.files.length} file${this.files.length === 1 ? "" : "s"}, ${bytes(this.total)}`;
      this.box.classList.add("done");
    } catch (e) {
      this.box.classList.add("failed");
      this.label.textContent = e instanceof Cancelled || this.cancelled ? "Upload cancelled" : `Upload failed: ${e instanceof Error ? e.message : e}`;
    }
    this.box.querySelector("button")?.remove();
  }

  private async put(key: string, file: File): Promise<void> {
    const headers: Record<string, string> = {};
    if (file.type) headers["Content-Type"] = file.type;
    await this.send("PUT", this.api.url(this.bucket, key), headers, file);
  }

  private async multipart(key: string, file: File): Promise<void> {
    const headers: Record<string, string> = {};
    if (file.type) headers["Content-Type"] = file.type;
    const res = await this.api.send("POST", this.api.url(this.bucket, key, { uploads: "" }), { headers });
    const uploadId = new DOMParser().parseFromString(await res.text(), "application/xml").getElementsByTagName("UploadId")[0]?.textContent ?? "";
    const count = Math.ceil(file.size / PART);
    const etags: string[] = new Array(count);
    let next = 0;
    try {
      const worker = async () => {
        while (next < count) {
          const n = next++;
          if (this.cancelled) throw new Cancelled();
          const part = file.slice(n * PART, Math.min(file.size, (n + 1) * PART));
          const x = await this.send("PUT", this.api.url(this.bucket, key, { partNumber: String(n + 1), uploadId }), {}, part);
          etags[n] = x.getResponseHeader("ETag") ?? "";
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, worker));
      const body =
        "<CompleteMultipartUpload>" + etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</ETag></Part>`).join("") + "</CompleteMultipartUpload>";
      await this.api.send("POST", this.api.url(this.bucket, key, { uploadId }), { body, headers: { "Content-Type": "application/xml" } });
    } catch (e) {
      this.cancel();
      await this.api.send("DELETE", this.api.url(this.bucket, key, { uploadId })).catch(() => undefined);
      throw e;
    }
  }

  // One signed request with a body, through XMLHttpRequest for its upload progress.
  private async send(method: string, url: string, headers: Record<string, string>, body: Blob): Promise<XMLHttpRequest> {
    if (this.cancelled) throw new Cancelled();
    const req = await this.api.signed(method, url, headers);
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      this.inflight.add(x);
      let counted = 0;
      x.open(method, req.url);
      req.headers.forEach((v, k) => {
        if (k !== "host" && k !== "content-length") x.setRequestHeader(k, v);
      });
      x.upload.onprogress = (ev) => {
        this.sent += ev.loaded - counted;
        counted = ev.loaded;
        this.bar.value = this.sent;
      };
      const settle = () => this.inflight.delete(x);
      x.onload = () => {
        settle();
        if (x.status >= 200 && x.status < 300) {
          this.sent += body.size - counted;
          this.bar.value = this.sent;
          resolve(x);
        } else {
          void errorOf(new Response(x.responseText, { status: x.status })).then(reject);
        }
      };
      x.onerror = () => {
        settle();
        reject(new Error("the connection failed"));
      };
      x.onabort = () => {
        settle();
        reject(new Cancelled("cancelled"));
      };
      x.send(body);
    });
  }
}

// The files of a drop, folders walked recursively, each with its path under the drop.
export async function collectDropped(dt: DataTransfer): Promise<{ file: File; path: string }[]> {
  const out: { file: File; path: string }[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ file, path: path + file.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, path + entry.name + "/");
      }
    }
  };
  const entries = Array.from(dt.items, (i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  if (entries.length) for (const e of entries) await walk(e, "");
  else for (const f of Array.from(dt.files)) out.push({ file: f, path: f.name });
  return out;
}
