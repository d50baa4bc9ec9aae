// The JavaScript SDKs PUT mixed sizes, empty ones included, one after another on one
// keep-alive connection (tests/integration/test_keepalive.py has why): each request must
// finish within a second, with no retries.
// usage: node mixed.mjs ENDPOINT ACCESS_KEY SECRET_KEY
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import * as Minio from "minio";
import http from "node:http";
import assert from "node:assert/strict";

const [endpoint, accessKeyId, secretAccessKey] = process.argv.slice(2);
const sizes = [0, 1, 4096, 0, 0, 70 * 1024, 0, 4096, 300 * 1024, 0];
const data = (i, n) => Buffer.from(Array.from({ length: n }, (_, j) => (i * 7 + j) % 251));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 1,
  credentials: { accessKeyId, secretAccessKey },
  requestHandler: new NodeHttpHandler({ httpAgent: agent, requestTimeout: 1000, connectionTimeout: 1000 }) });
const url = new URL(endpoint);
const mc = new Minio.Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false,
  accessKey: accessKeyId, secretKey: secretAccessKey, region: "us-east-1", pathStyle: true,
  transportAgent: new http.Agent({ keepAlive: true, maxSockets: 1 }) });
let passed = 0, failed = 0;
const timed = async (name, fn) => {
  const t = Date.now();
  try {
    await fn();
    const ms = Date.now() - t;
    if (ms >= 1000) throw new Error(`took ${ms} ms`);
    passed++;
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e.message}`);
  }
};

await s3.send(new CreateBucketCommand({ Bucket: "js-mixed" }));
for (const [i, n] of sizes.entries()) {
  await timed(`aws-sdk put ${i} (${n} B)`, () =>
    s3.send(new PutObjectCommand({ Bucket: "js-mixed", Key: `sdk/f${i}`, Body: data(i, n) })));
  await timed(`minio-js put ${i} (${n} B)`, () => mc.putObject("js-mixed", `minio/f${i}`, data(i, n), n));
}
for (const [i, n] of sizes.entries()) {
  for (const p of ["sdk", "minio"]) {
    const r = await s3.send(new GetObjectCommand({ Bucket: "js-mixed", Key: `${p}/f${i}` }));
    assert.deepEqual(Buffer.from(await r.Body.transformToByteArray()), data(i, n), `${p}/f${i}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
