// The console's only way to the server: S3 and admin requests signed in the browser with
// the user's key (aws4fetch, SigV4), exactly as the CLI signs them. Errors come back as
// ApiError with the server's code and message, which the pages show as they are.
import { AwsClient } from "aws4fetch";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ObjectEntry {
  key: string;
  size: number;
  lastModified: string;
  etag: string;
}

export interface Listing {
  prefixes: string[];
  objects: ObjectEntry[];
  nextToken: string | null;
}

export interface Version {
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  lastModified: string;
  etag: string;
}

export interface Usage {
  objects: number;
  bytes: number;
  versions: number;
  versionBytes: number;
}

export interface Member {
  name: string;
  size: number;
  offset: number;
}

// RFC 3986 encoding of one path segment (what SigV4 canonicalizes).
export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

export function encodeKey(key: string): string {
  return key.split("/").map(encodeSegment).join("/");
}

function parseXml(text: string): Document {
  return new DOMParser().parseFromString(text, "application/xml");
}

function childText(el: Element, tag: string): string {
  for (const c of Array.from(el.children)) {
    if (c.localName === tag) return c.textContent ?? "";
  }
  return "";
}

function children(el: Element, tag: string): Element[] {
  return Array.from(el.children).filter((c) => c.localName === tag);
}

async function sha256Hex(body: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

// The server's error, from S3's XML, the admin API's JSON, or plain text.
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  let code = "";
  let message = "";
  if (text.trimStart().startsWith("<")) {
    const doc = parseXml(text);
    const root = doc.documentElement;
    if (root && root.localName !== "parsererror") {
      code = childText(root, "Code");
      message = childText(root, "Message");
      const err = root.getElementsByTagName("Error")[0];
      if (!code && err) {
        code = childText(err, "Code");
        message = childText(err, "Message");
      }
    }
  } else if (text.trimStart().startsWith("{")) {
    try {
      const j = JSON.parse(text);
      code = j.code ?? "";
      message = j.message ?? "";
    } catch {
      /* plain text below */
    }
  }
  if (!code) code = res.status === 403 ? "AccessDenied" : res.status === 404 ? "NotFound" : `HTTP ${res.status}`;
  if (!message) message = text.trim() || res.statusText || code;
  return new ApiError(res.status, code, message);
}

export class Api {
  readonly aws: AwsClient;
  readonly origin = location.origin;

  constructor(
    readonly creds: Credentials,
    readonly region: string,
  ) {
    this.aws = new AwsClient({ ...creds, service: "s3", region, retries: 0 });
  }

  url(bucket?: string, key?: string, query?: Record<string, string>): string {
    let u = this.origin + "/";
    if (bucket) u += encodeSegment(bucket) + "/";
    if (key) u += encodeKey(key);
    if (query) {
      const q = Object.entries(query)
        .map(([k, v]) => (v === "" ? encodeSegment(k) : `${encodeSegment(k)}=${encodeSegment(v)}`))
        .join("&");
      if (q) u += "?" + q;
    }
    return u;
  }

  // A signed request; a status of 300 or more is thrown as the server's error.
  async send(method: string, url: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.body !== undefined) headers["X-Amz-Content-Sha256"] = await sha256Hex(init.body);
    const res = await this.aws.fetch(url, { method, headers, body: init.body, cache: "no-store" });
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  // A request signed for someone else to send (XMLHttpRequest uploads with progress).
  async signed(method: string, url: string, headers: Record<string, string>): Promise<Request> {
    return this.aws.sign(url, { method, headers: { ...headers, "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" } });
  }

  // A presigned GET, valid for `seconds` (at most 7 days, as S3).
  async presign(bucket: string, key: string, seconds: number, versionId?: string, download = false): Promise<string> {
    const q: Record<string, string> = { "X-Amz-Expires": String(seconds) };
    if (versionId) q.versionId = versionId;
    if (download) q["response-content-disposition"] = `attachment; filename="${key.split("/").pop()!.replace(/"/g, "")}"`;
    const req = await this.aws.sign(this.url(bucket, key, q), { method: "GET", aws: { signQuery: true } });
    // URLSearchParams writes a space as "+"; SigV4 canonicalizes it as %20, and so does the
    // server when it checks the signature. (A literal "+" is already %2B.)
    const u = new URL(req.url);
    return u.origin + u.pathname + "?" + u.search.slice(1).replace(/\+/g, "%20");
  }

  // ---- buckets

  async listBuckets(): Promise<{ name: string; created: string }[]> {
    const doc = parseXml(await (await this.send("GET", this.url())).text());
    return Array.from(doc.getElementsByTagName("Bucket")).map((b) => ({
      name: childText(b, "Name"),
      created: childText(b, "CreationDate"),
    }));
  }

  async usage(bucket: string): Promise<Usage> {
    const root = parseXml(await (await this.send("GET", this.url(bucket, undefined, { usage: "" }))).text()).documentElement;
    return {
      objects: Number(childText(root, "Objects")),
      bytes: Number(childText(root, "Bytes")),
      versions: Number(childText(root, "Versions")),
      versionBytes: Number(childText(root, "VersionBytes")),
    };
  }

  async createBucket(bucket: string, opts: { versioning: boolean; objectLock: boolean }): Promise<void> {
    const headers: Record<string, string> = {};
    if (opts.objectLock) headers["x-amz-bucket-object-lock-enabled"] = "true";
    await this.send("PUT", this.url(bucket), { headers });
    if (opts.versioning && !opts.objectLock) await this.putVersioning(bucket, "Enabled");
  }

  async deleteBucket(bucket: string): Promise<void> {
    await this.send("DELETE", this.url(bucket));
  }

  async getVersioning(bucket: string): Promise<string> {
    const root = parseXml(await (await this.send("GET", this.url(bucket, undefined, { versioning: "" }))).text()).documentElement;
    return childText(root, "Status") || "Off";
  }

  async putVersioning(bucket: string, status: "Enabled" | "Suspended"): Promise<void> {
    const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${status}</Status></VersioningConfiguration>`;
    await this.send("PUT", this.url(bucket, undefined, { versioning: "" }), { body, headers: { "Content-Type": "application/xml" } });
  }

  // A bucket sub-resource as text (lifecycle, cors, policy, replication, object-lock), or
  // null when the bucket has none.
  async getConfig(bucket: string, sub: string): Promise<string | null> {
    try {
      return await (await this.send("GET", this.url(bucket, undefined, { [sub]: "" }))).text();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && e.code !== "NoSuchBucket") return null;
      throw e;
    }
  }

  async putConfig(bucket: string, sub: string, body: string): Promise<void> {
    const type = sub === "policy" ? "application/json" : "application/xml";
    // (The body's SHA-256 is signed: sluice needs no Content-MD5 for configurations.)
    await this.send("PUT", this.url(bucket, undefined, { [sub]: "" }), { body, headers: { "Content-Type": type } });
  }

  async deleteConfig(bucket: string, sub: string): Promise<void> {
    await this.send("DELETE", this.url(bucket, undefined, { [sub]: "" }));
  }

  // ---- objects

  async list(bucket: string, prefix: string, token: string | null, maxKeys = 200, delimiter = "/"): Promise<Listing> {
    const q: Record<string, string> = { "list-type": "2", prefix, "max-keys": String(maxKeys) };
    if (delimiter) q.delimiter = delimiter;
    if (token) q["continuation-token"] = token;
    const root = parseXml(await (await this.send("GET", this.url(bucket, undefined, q))).text()).documentElement;
    return {
      prefixes: children(root, "CommonPrefixes").map((p) => childText(p, "Prefix")),
      objects: children(root, "Contents").map((c) => ({
        key: childText(c, "Key"),
        size: Number(childText(c, "Size")),
        lastModified: childText(c, "LastModified"),
        etag: childText(c, "ETag"),
      })),
      nextToken: childText(root, "IsTruncated") === "true" ? childText(root, "NextContinuationToken") : null,
    };
  }

  async head(bucket: string, key: string, versionId?: string): Promise<Headers> {
    const q: Record<string, string> = versionId ? { versionId } : {};
    return (await this.send("HEAD", this.url(bucket, key, q), { headers: { "x-amz-checksum-mode": "ENABLED" } })).headers;
  }

  async tags(bucket: string, key: string): Promise<[string, string][]> {
    const root = parseXml(await (await this.send("GET", this.url(bucket, key, { tagging: "" }))).text()).documentElement;
    return Array.from(root.getElementsByTagName("Tag")).map((t) => [childText(t, "Key"), childText(t, "Value")]);
  }

  async range(bucket: string, key: string, bytes: number): Promise<ArrayBuffer> {
    return (await this.send("GET", this.url(bucket, key), { headers: { Range: `bytes=0-${bytes - 1}` } })).arrayBuffer();
  }

  async members(bucket: string, key: string, max = 1000): Promise<Member[]> {
    const res = await this.send("GET", this.url(bucket, key, { members: "", "max-members": String(max) }));
    const root = parseXml(await res.text()).documentElement;
    return Array.from(root.getElementsByTagName("Member")).map((m) => ({
      name: childText(m, "Name"),
      size: Number(childText(m, "Size")),
      offset: Number(childText(m, "Offset")),
    }));
  }

  async deleteObject(bucket: string, key: string, versionId?: string): Promise<void> {
    await this.send("DELETE", this.url(bucket, key, versionId ? { versionId } : {}));
  }

  // Every version and delete marker of exactly `key`, newest first.
  async versions(bucket: string, key: string): Promise<Version[]> {
    const out: Version[] = [];
    let keyMarker = "";
    let idMarker = "";
    for (;;) {
      const q: Record<string, string> = { versions: "", prefix: key, "max-keys": "1000" };
      if (keyMarker) q["key-marker"] = keyMarker;
      if (idMarker) q["version-id-marker"] = idMarker;
      const root = parseXml(await (await this.send("GET", this.url(bucket, undefined, q))).text()).documentElement;
      for (const el of Array.from(root.children)) {
        if (el.localName !== "Version" && el.localName !== "DeleteMarker") continue;
        if (childText(el, "Key") !== key) continue;
        out.push({
          key,
          versionId: childText(el, "VersionId"),
          isLatest: childText(el, "IsLatest") === "true",
          deleteMarker: el.localName === "DeleteMarker",
          size: Number(childText(el, "Size") || 0),
          lastModified: childText(el, "LastModified"),
          etag: childText(el, "ETag"),
        });
      }
      if (childText(root, "IsTruncated") !== "true") break;
      keyMarker = childText(root, "NextKeyMarker");
      idMarker = childText(root, "NextVersionIdMarker");
      if (keyMarker !== key) break;
    }
    return out;
  }

  // Makes an older version the latest again: a server-side copy of it onto its own key.
  async restoreVersion(bucket: string, key: string, versionId: string): Promise<string> {
    const res = await this.send("PUT", this.url(bucket, key), {
      headers: { "x-amz-copy-source": `/${encodeSegment(bucket)}/${encodeKey(key)}?versionId=${encodeSegment(versionId)}` },
    });
    return res.headers.get("x-amz-version-id") ?? "";
  }

  // ---- the admin API (JSON) and the metrics

  async admin<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const init: { headers?: Record<string, string>; body?: string } = {};
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    const res = await this.send(method, `${this.origin}/_sluice/admin/v1/${path}`, init);
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  async metrics(): Promise<string> {
    return (await this.send("GET", `${this.origin}/metrics`)).text();
  }
}
