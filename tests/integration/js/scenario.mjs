// The AWS SDK for JavaScript v3 with its defaults (CRC32 checksums, aws-chunked trailers
// for streams) against sluice: the shared client scenario (tests/integration/clients.py)
// plus what only current SDKs send (FULL_OBJECT multipart checksums, GetObjectAttributes).
// usage: node scenario.mjs ENDPOINT ACCESS_KEY SECRET_KEY ODD_KEYS_JSON
// (for HTTPS, NODE_EXTRA_CA_CERTS names the test CA)
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand,
  GetObjectAttributesCommand, PutBucketCorsCommand, GetBucketCorsCommand, DeleteBucketCommand,
  DeleteBucketCorsCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { Readable } from "node:stream";
import { createHash, randomBytes } from "node:crypto";
import assert from "node:assert/strict";

const [endpoint, accessKeyId, secretAccessKey, oddKeysJson] = process.argv.slice(2);
const oddKeys = JSON.parse(oddKeysJson || "[]");
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId, secretAccessKey } });
const md5 = (b) => createHash("md5").update(b).digest("hex");
const body = async (r) => Buffer.from(await r.Body.transformToByteArray());
let passed = 0;
const step = async (name, fn) => { await fn(); passed++; console.log(`ok - ${name}`); };

await step("create bucket", () => s3.send(new CreateBucketCommand({ Bucket: "jssdk" })));
// compat: object-crud, x-id (the SDK adds ?x-id= to every operation)
await step("put a string (default CRC32 checksum)", async () => {
  const r = await s3.send(new PutObjectCommand({ Bucket: "jssdk", Key: "small.txt", Body: "hello from js" }));
  assert.equal(r.ETag, `"${md5("hello from js")}"`);
});
const big = randomBytes(3 * 1024 * 1024 + 7);
// compat: aws-chunked, checksums
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
// compat: mpu-composite
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
// compat: conditional-get
await step("conditional GET answers 304", async () => {
  const h = await s3.send(new HeadObjectCommand({ Bucket: "jssdk", Key: "small.txt" }));
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "small.txt", IfNoneMatch: h.ETag })),
    (e) => e.$metadata.httpStatusCode === 304);
});
// compat: list-v2
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
// compat: presigned
await step("presigned GET and PUT", async () => {
  const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "jssdk", Key: "small.txt" }), { expiresIn: 600 });
  const r = await fetch(get);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "hello from js");
  const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: "jssdk", Key: "presigned.txt" }), { expiresIn: 600 });
  assert.equal((await fetch(put, { method: "PUT", body: "via presigned PUT" })).status, 200);
  assert.equal((await body(await s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "presigned.txt" })))).toString(), "via presigned PUT");
});
// CRC-32 (IEEE), table-driven: zlib.crc32 needs Node.js 20.15, and Debian 12 ships 18.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf, prev = 0) => {
  let c = (prev ^ 0xffffffff) >>> 0;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const crc32b64 = (buf, prev = 0) => { const b = Buffer.alloc(4); b.writeUInt32BE(crc32(buf, prev)); return b.toString("base64"); };
// compat: mpu-full-object
await step("multipart with a FULL_OBJECT CRC32 checksum", async () => {
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234567)];
  const whole = Buffer.concat(parts);
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "jssdk", Key: "full.bin",
    ChecksumAlgorithm: "CRC32", ChecksumType: "FULL_OBJECT" }));
  const done = [];
  for (let i = 0; i < parts.length; i++) {
    const r = await s3.send(new UploadPartCommand({ Bucket: "jssdk", Key: "full.bin", UploadId, PartNumber: i + 1,
      Body: parts[i], ChecksumAlgorithm: "CRC32" }));
    assert.equal(r.ChecksumCRC32, crc32b64(parts[i]));
    done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 });
  }
  const c = await s3.send(new CompleteMultipartUploadCommand({ Bucket: "jssdk", Key: "full.bin", UploadId,
    MultipartUpload: { Parts: done }, ChecksumCRC32: crc32b64(whole), ChecksumType: "FULL_OBJECT" }));
  assert.equal(c.ChecksumCRC32, crc32b64(whole));  // the CRC32 of the whole object, no "-N"
  assert.equal(c.ChecksumType, "FULL_OBJECT");
  const h = await s3.send(new HeadObjectCommand({ Bucket: "jssdk", Key: "full.bin", ChecksumMode: "ENABLED" }));
  assert.equal(h.ChecksumCRC32, crc32b64(whole));
  assert.equal(h.ChecksumType, "FULL_OBJECT");
});
await step("a FULL_OBJECT checksum that does not match is refused", async () => {
  const part = randomBytes(1000);
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "jssdk", Key: "bad-full.bin",
    ChecksumAlgorithm: "CRC32C", ChecksumType: "FULL_OBJECT" }));
  const r = await s3.send(new UploadPartCommand({ Bucket: "jssdk", Key: "bad-full.bin", UploadId, PartNumber: 1,
    Body: part, ChecksumAlgorithm: "CRC32C" }));
  await assert.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: "jssdk", Key: "bad-full.bin", UploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: r.ETag, ChecksumCRC32C: r.ChecksumCRC32C }] },
    ChecksumCRC32C: "AAAAAA==", ChecksumType: "FULL_OBJECT" })), (e) => e.name === "BadDigest");
  await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: "jssdk", Key: "bad-full.bin" })));
});
// compat: object-attributes
await step("GetObjectAttributes of a multipart object", async () => {
  const a = await s3.send(new GetObjectAttributesCommand({ Bucket: "jssdk", Key: "full.bin",
    ObjectAttributes: ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"] }));
  assert.equal(a.ObjectSize, 5 * 1024 * 1024 + 1234567);
  assert.match(a.ETag, /^[0-9a-f]{32}-2$/);
  assert.equal(a.StorageClass, "STANDARD");
  assert.equal(a.Checksum.ChecksumType, "FULL_OBJECT");
  assert.equal(a.ObjectParts.TotalPartsCount ?? a.ObjectParts.PartsCount, 2);
  assert.equal(a.ObjectParts.Parts.length, 2);
  assert.equal(a.ObjectParts.Parts[1].Size, 1234567);
  assert.ok(a.ObjectParts.Parts[0].ChecksumCRC32);
});
// compat: cors
await step("bucket CORS configuration", async () => {
  await s3.send(new PutBucketCorsCommand({ Bucket: "jssdk", CORSConfiguration: { CORSRules: [
    { AllowedOrigins: ["https://app.example.com"], AllowedMethods: ["GET", "PUT"], AllowedHeaders: ["*"],
      ExposeHeaders: ["ETag"], MaxAgeSeconds: 600 }] } }));
  const c = await s3.send(new GetBucketCorsCommand({ Bucket: "jssdk" }));
  assert.deepEqual(c.CORSRules[0].AllowedMethods, ["GET", "PUT"]);
  const r = await fetch(`${endpoint}/jssdk/small.txt`, { method: "OPTIONS", headers: {
    Origin: "https://app.example.com", "Access-Control-Request-Method": "PUT" } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example.com");
  await s3.send(new DeleteBucketCorsCommand({ Bucket: "jssdk" }));
});
// compat: odd-keys
await step("odd keys round-trip", async () => {
  for (const [i, key] of oddKeys.entries()) {
    await s3.send(new PutObjectCommand({ Bucket: "jssdk", Key: key, Body: `odd ${i}` }));
    assert.equal((await body(await s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: key })))).toString(), `odd ${i}`, key);
  }
  let listed = [], token;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: "jssdk", ContinuationToken: token }));
    listed.push(...(r.Contents || []).map((o) => o.Key));
    token = r.NextContinuationToken;
  } while (token);
  for (const key of oddKeys) {
    assert.ok(listed.includes(key), `not listed: ${JSON.stringify(key)}`);
    await s3.send(new DeleteObjectCommand({ Bucket: "jssdk", Key: key }));
  }
});
await step("missing key is NoSuchKey", async () => {
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: "jssdk", Key: "nope" })), (e) => e.name === "NoSuchKey");
});
await step("remove the bucket", async () => {
  let token;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: "jssdk", ContinuationToken: token }));
    for (const o of r.Contents || []) await s3.send(new DeleteObjectCommand({ Bucket: "jssdk", Key: o.Key }));
    token = r.NextContinuationToken;
  } while (token);
  await s3.send(new DeleteBucketCommand({ Bucket: "jssdk" }));
});
console.log(`${passed} passed, 0 failed`);
