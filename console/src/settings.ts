// A bucket's settings: versioning, Object Lock, lifecycle rules, CORS, the bucket policy
// and replication with its backlog. Each configuration is edited as the S3 API takes it
// (XML, or JSON for the policy); a refusal shows the server's code and reason (say,
// MalformedPolicy with what is wrong) next to the editor.
import { ApiError } from "./api";
import type { Ctx } from "./main";
import { href } from "./main";
import { act, append, bytes, clear, count, errorBox, h, notice, table } from "./ui";

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const EXAMPLES: Record<string, string> = {
  lifecycle: `<LifecycleConfiguration ${NS}>\n  <Rule>\n    <ID>expire-tmp</ID>\n    <Filter><Prefix>tmp/</Prefix></Filter>\n    <Status>Enabled</Status>\n    <Expiration><Days>7</Days></Expiration>\n  </Rule>\n</LifecycleConfiguration>`,
  cors: `<CORSConfiguration ${NS}>\n  <CORSRule>\n    <AllowedOrigin>https://notebooks.example.com</AllowedOrigin>\n    <AllowedMethod>GET</AllowedMethod>\n    <AllowedHeader>*</AllowedHeader>\n  </CORSRule>\n</CORSConfiguration>`,
  replication: `<ReplicationConfiguration ${NS}>\n  <Role></Role>\n  <Rule>\n    <Status>Enabled</Status>\n    <Filter><Prefix></Prefix></Filter>\n    <Destination><Bucket>arn:aws:s3:::BACKUP-BUCKET</Bucket></Destination>\n  </Rule>\n</ReplicationConfiguration>`,
  "object-lock": `<ObjectLockConfiguration ${NS}>\n  <ObjectLockEnabled>Enabled</ObjectLockEnabled>\n  <Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>30</Days></DefaultRetention></Rule>\n</ObjectLockConfiguration>`,
};

function policyExample(bucket: string): string {
  return JSON.stringify(
    {
      Version: "2012-10-17",
      Statement: [{ Sid: "ReadOnly", Effect: "Allow", Principal: { AWS: ["*"] }, Action: ["s3:GetObject"], Resource: [`arn:aws:s3:::${bucket}/*`] }],
    },
    null,
    2,
  );
}

export async function renderSettings(c: Ctx, page: HTMLElement, bucket: string): Promise<void> {
  clear(
    page,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "#/" }, "Buckets"), " / ", h("a", { href: href(["b", bucket]) }, bucket)),
    h("h1", {}, `Settings of ${bucket}`),
  );
  append(page, await versioningSection(c, bucket));
  append(page, await editor(c, bucket, "object-lock", "Object Lock", "Default retention for new versions; Object Lock itself is chosen when the bucket is created.", false));
  append(page, await editor(c, bucket, "lifecycle", "Lifecycle rules", "Expire objects, noncurrent versions and incomplete uploads; a background worker applies them.", true));
  append(page, await editor(c, bucket, "cors", "CORS", "Which web origins may call this bucket from a browser.", true));
  append(page, await editor(c, bucket, "policy", "Bucket policy", "An IAM JSON policy: who may do what to this bucket and its objects.", true));
  append(page, await editor(c, bucket, "replication", "Replication", "Copy new versions to another bucket or a registered remote target.", true));
  append(page, await backlogSection(c, bucket));
}

async function versioningSection(c: Ctx, bucket: string): Promise<HTMLElement> {
  const sec = h("section", { id: "versioning" }, h("h2", {}, "Versioning"));
  try {
    const status = await c.api.getVersioning(bucket);
    const enable = h("button", { type: "button", class: "primary", disabled: status === "Enabled" }, "Enable");
    const suspend = h("button", { type: "button", disabled: status !== "Enabled" }, "Suspend");
    const set = (btn: HTMLButtonElement, s: "Enabled" | "Suspended") =>
      btn.addEventListener("click", () =>
        void act(btn, async () => {
          await c.api.putVersioning(bucket, s);
          notice(`Versioning ${s.toLowerCase()}`);
          sec.replaceWith(await versioningSection(c, bucket));
        }),
      );
    set(enable, "Enabled");
    set(suspend, "Suspended");
    append(sec, h("p", {}, "Status: ", h("strong", { id: "versioning-status" }, status)), h("div", { class: "toolbar" }, enable, suspend));
  } catch (e) {
    append(sec, errorBox(e));
  }
  return sec;
}

async function editor(c: Ctx, bucket: string, sub: string, title: string, help: string, removable: boolean): Promise<HTMLElement> {
  const sec = h("section", { id: `config-${sub}` }, h("h2", {}, title), h("p", { class: "muted" }, help));
  let current: string | null;
  try {
    current = await c.api.getConfig(bucket, sub);
  } catch (e) {
    append(sec, errorBox(e));
    return sec;
  }
  if (sub === "policy" && current) {
    try {
      current = JSON.stringify(JSON.parse(current), null, 2);
    } catch {
      /* as the server has it */
    }
  }
  const area = h("textarea", { id: `editor-${sub}`, rows: 10, spellcheck: "false", "aria-label": `${title} document` });
  area.value = current ?? (sub === "policy" ? policyExample(bucket) : EXAMPLES[sub] ?? "");
  const status = h("div", { class: "editor-status" }, h("span", { class: "muted" }, current === null ? "Not set: the text below is an example." : "Set."));
  const save = h("button", { type: "button", class: "primary" }, "Save");
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      if (sub === "policy") JSON.parse(area.value); // a JSON syntax error is shown before sending
      await c.api.putConfig(bucket, sub, area.value);
      clear(status, h("span", { class: "ok" }, "Saved."));
    } catch (e) {
      clear(status, errorBox(e instanceof SyntaxError ? new ApiError(0, "MalformedPolicy", `not JSON: ${e.message}`) : e));
    } finally {
      save.disabled = false;
    }
  });
  const buttons = h("div", { class: "toolbar" }, save);
  if (removable) {
    const del = h("button", { type: "button", class: "danger" }, "Remove");
    del.addEventListener("click", () =>
      void act(del, async () => {
        await c.api.deleteConfig(bucket, sub);
        sec.replaceWith(await editor(c, bucket, sub, title, help, removable));
      }),
    );
    append(buttons, del);
  }
  append(sec, area, buttons, status);
  return sec;
}

// The replication backlog, from the admin API (administrators only).
async function backlogSection(c: Ctx, bucket: string): Promise<HTMLElement> {
  const sec = h("section", { id: "replication-backlog" }, h("h2", {}, "Replication backlog"));
  if (!c.isAdmin) {
    append(sec, h("p", { class: "muted" }, "The backlog is shown to administrators."));
    return sec;
  }
  try {
    const s = await c.api.admin<any>("GET", `replication/status/${encodeURIComponent(bucket)}`);
    const b = s.buckets[0];
    append(
      sec,
      table(
        ["Destination", "Waiting", "Bytes waiting", "Oldest waiting", "Failed (all buckets)"],
        [[b.destination, count(b.pending_objects), bytes(b.pending_bytes), `${Math.round(b.oldest_pending_s)} s`, count(s.failed)]],
      ),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) append(sec, h("p", { class: "muted" }, "No replication configured."));
    else append(sec, errorBox(e));
  }
  return sec;
}
