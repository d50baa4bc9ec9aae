// The AWS SDK for JavaScript v3 with its defaults (CRC32 checksums, aws-chunked trailers
// for streams) against sluice. usage: node scenario.mjs ENDPOINT ACCESS_KEY SECRET_KEY
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Readable } from "node:stream";
import { createHash, randomBytes } from "node:crypto";
import assert from "node:assert/strict";

const [endpoint, accessKeyId, secretAccessKey] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId, secretAccessKey } });
const md5 = (b) => createHash("md5").update(b).digest("hex");
const body = async (r) => Buffer.from(await r.Body.transformToByteArray());
let passed = 0;
const step = async (name, fn) => { await fn(); passed++; console.log(`ok - ${name}`); };

await step("create bucket", () => s3.send(new CreateBucketCommand({ Bucket: "jssdk" })));
await step("put a string (default CRC32 checksum)", async () => {
  const r = await s3.send(new PutObjectCommand({ Bucket: "jssdk", Key: "small.txt", Body: "hello from js" }));
  assert.equal(r.ETag, `"${md5("hello from js")}"`);
});
const big = randomBytes(3 * 1024 * 1024 + 7);
await step("put a stream (aws-chunked with a trailing checksum)", async () => {
  await s3.send(new PutObjectCommand({ Bucket: "jssdk", Key: "stream.bin",
    Body: Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]), ContentLength: big.length }));
  assert.deepEqual(await body(await s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "stream.bin" }))), big);
});
await step("checksum mode returns the stored checksum", async () => {
  const h = await s3.send(new HeadObjectCommand({ Bucket: "jssdk", Key: "small.txt", ChecksumMode: "ENABLED" }));
  assert.ok(h.ChecksumCRC32, "no ChecksumCRC32");
});
await step("explicit SHA256 checksum", async () => {
  await s3.send(new PutObjectCommand({ Bucket: "jssdk", Key: "sha.txt", Body: "sha body", ChecksumAlgorithm: "SHA256" }));
  const h = await s3.send(new HeadObjectCommand({ Bucket: "jssdk", Key: "sha.txt", ChecksumMode: "ENABLED" }));
  assert.equal(h.ChecksumSHA256, createHash("sha256").update("sha body").digest("base64"));
});
const large = randomBytes(12 * 1024 * 1024 + 3);
await step("lib-storage Upload (multipart, checksummed parts)", async () => {
  await new Upload({ client: s3, params: { Bucket: "jssdk", Key: "large.bin", Body: large },
    partSize: 5 * 1024 * 1024, queueSize: 3 }).done();
  const g = await s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "large.bin" }));
  assert.deepEqual(await body(g), large);
  assert.match(g.ETag, /-3"$/);
});
await step("range GET", async () => {
  const g = await s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "large.bin", Range: "bytes=100-199" }));
  assert.deepEqual(await body(g), large.subarray(100, 200));
});
await step("conditional GET answers 304", async () => {
  const h = await s3.send(new HeadObjectCommand({ Bucket: "jssdk", Key: "small.txt" }));
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "small.txt", IfNoneMatch: h.ETag })),
    (e) => e.$metadata.httpStatusCode === 304);
});
await step("list with delimiter and pagination", async () => {
  for (const k of ["d/a", "d/b", "d/c"]) await s3.send(new PutObjectCommand({ Bucket: "jssdk", Key: k, Body: k }));
  const top = await s3.send(new ListObjectsV2Command({ Bucket: "jssdk", Delimiter: "/" }));
  assert.deepEqual(top.CommonPrefixes.map((p) => p.Prefix), ["d/"]);
  let keys = [], token;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: "jssdk", Prefix: "d/", MaxKeys: 2, ContinuationToken: token }));
    keys.push(...r.Contents.map((o) => o.Key));
    token = r.NextContinuationToken;
  } while (token);
  assert.deepEqual(keys, ["d/a", "d/b", "d/c"]);
});
await step("copy and delete", async () => {
  await s3.send(new CopyObjectCommand({ Bucket: "jssdk", Key: "copy.txt", CopySource: "jssdk/small.txt" }));
  assert.equal((await body(await s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "copy.txt" })))).toString(), "hello from js");
  await s3.send(new DeleteObjectCommand({ Bucket: "jssdk", Key: "copy.txt" }));
  const r = await s3.send(new DeleteObjectsCommand({ Bucket: "jssdk", Delete: { Objects: [{ Key: "d/a" }, { Key: "d/b" }] } }));
  assert.equal(r.Deleted.length, 2);
});
await step("missing key is NoSuchKey", async () => {
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "nope" })), (e) => e.name === "NoSuchKey");
});
console.log(`${passed} passed, 0 failed`);
