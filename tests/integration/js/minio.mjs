// minio-js (from npm) against sluice: the shared client scenario of
// tests/integration/clients.py through minio-js's own calls.
// usage: node minio.mjs ENDPOINT ACCESS_KEY SECRET_KEY ODD_KEYS_JSON
// (for HTTPS, NODE_EXTRA_CA_CERTS names the test CA)
import * as Minio from "minio";
import { createHash, randomBytes } from "node:crypto";
import assert from "node:assert/strict";

const [endpoint, accessKey, secretKey, oddKeysJson] = process.argv.slice(2);
const oddKeys = JSON.parse(oddKeysJson || "[]");
const url = new URL(endpoint);
const mc = new Minio.Client({ endPoint: url.hostname, port: Number(url.port), useSSL: url.protocol === "https:",
  accessKey, secretKey, region: "us-east-1", pathStyle: true, partSize: 5 * 1024 * 1024 });
const B = "minio-js";
const md5 = (b) => createHash("md5").update(b).digest("hex");
const read = (stream) => new Promise((resolve, reject) => {
  const chunks = [];
  stream.on("data", (c) => chunks.push(c));
  stream.on("end", () => resolve(Buffer.concat(chunks)));
  stream.on("error", reject);
});
const list = (prefix, recursive) => new Promise((resolve, reject) => {
  const out = [];
  const s = mc.listObjectsV2(B, prefix, recursive);
  s.on("data", (o) => out.push(o));
  s.on("end", () => resolve(out));
  s.on("error", reject);
});
let passed = 0;
const notOffered = [];
const step = async (name, fn) => { await fn(); passed++; console.log(`ok - ${name}`); };

await step("buckets", async () => {
  await mc.makeBucket(B, "us-east-1");
  assert.ok(await mc.bucketExists(B));
  assert.ok((await mc.listBuckets()).some((b) => b.name === B));
});
const small = Buffer.concat([randomBytes(1000), Buffer.from("small")]);
await step("put/get small", async () => {
  const r = await mc.putObject(B, "small.bin", small);
  assert.equal(r.etag, md5(small));
  assert.deepEqual(await read(await mc.getObject(B, "small.bin")), small);
});
const large = randomBytes(12 * 1024 * 1024 + 11);
await step("put/get multipart", async () => {
  await mc.putObject(B, "large.bin", large, large.length);
  const st = await mc.statObject(B, "large.bin");
  assert.match(st.etag, /-\d+$/);  // minio-js sends a buffer as one multipart part
  assert.equal(st.size, large.length);
  assert.ok(md5(await read(await mc.getObject(B, "large.bin"))) === md5(large));
});
await step("range", async () => {
  const got = await read(await mc.getPartialObject(B, "large.bin", 5 * 1024 * 1024 - 10, 20));
  assert.deepEqual(got, large.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 10));
});
await step("copy", async () => {
  await mc.copyObject(B, "copy.bin", `/${B}/small.bin`, new Minio.CopyConditions());
  assert.deepEqual(await read(await mc.getObject(B, "copy.bin")), small);
});
await step("list delimiter", async () => {
  for (const k of ["dir/a", "dir/b", "dir/c", "dir/sub/x", "dir/sub2/y"]) await mc.putObject(B, k, Buffer.from(k));
  const got = await list("dir/", false);
  assert.deepEqual(got.filter((o) => o.name).map((o) => o.name).sort(), ["dir/a", "dir/b", "dir/c"]);
  assert.deepEqual(got.filter((o) => o.prefix).map((o) => o.prefix).sort(), ["dir/sub/", "dir/sub2/"]);
  notOffered.push("list pages: minio-js fixes the page size at 1,000 keys");
});
await step("delete", async () => {
  await mc.removeObject(B, "copy.bin");
  await assert.rejects(mc.statObject(B, "copy.bin"), (e) => e.code === "NotFound" || e.code === "NoSuchKey");
});
await step("presigned GET", async () => {
  const r = await fetch(await mc.presignedGetObject(B, "small.bin", 600));
  assert.equal(r.status, 200);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), small);
});
await step("presigned PUT", async () => {
  const r = await fetch(await mc.presignedPutObject(B, "presigned-put.bin", 600), { method: "PUT", body: "put through a presigned URL" });
  assert.equal(r.status, 200);
  assert.equal((await read(await mc.getObject(B, "presigned-put.bin"))).toString(), "put through a presigned URL");
});
notOffered.push("conditional GET: minio-js getObject takes no If-None-Match");
await step("odd keys", async () => {
  for (const [i, key] of oddKeys.entries()) {
    await mc.putObject(B, key, Buffer.from(`odd key ${i}`));
    assert.equal((await read(await mc.getObject(B, key))).toString(), `odd key ${i}`, JSON.stringify(key));
  }
  const names = (await list("", true)).map((o) => o.name);
  for (const key of oddKeys) {
    assert.ok(names.includes(key), `not listed: ${JSON.stringify(key)}`);
    await mc.removeObject(B, key);
    await assert.rejects(mc.statObject(B, key));
  }
});
await step("remove bucket", async () => {
  const names = (await list("", true)).map((o) => o.name);
  await mc.removeObjects(B, names);
  await mc.removeBucket(B);
  assert.equal(await mc.bucketExists(B), false);
});
for (const n of notOffered) console.log(`not offered by the client: ${n}`);
console.log(`${passed} passed, 0 failed`);
