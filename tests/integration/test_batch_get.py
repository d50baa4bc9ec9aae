"""BatchGet (`POST /bucket?batch-get`, docs/batch-get.md) against the real server: a tar
stream of the objects asked for, in order, members named by key, with ranges, versions and
the bucket's snapshot view; each key authorized as if read alone; missing keys failing the
request or appearing as error entries, as the caller chooses; read back by Python's
tarfile, GNU tar, the sluice Python module, the CLI and a PyTorch DataLoader over
sluice.torch.ObjectDataset.  compat: batch-get
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest
from xml.sax.saxutils import escape

import requests

import harness

sys.path.insert(0, os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python")))
try:
    import sluice  # noqa: E402
except ImportError:
    sluice = None

LONG_KEY = "deep/" + "d" * 120 + "/sample-0001.jpg"
UNICODE_KEY = "données/échantillon 1.txt"


def body_of(objects, on_error=None):
    out = "<BatchGet>"
    if on_error:
        out += f"<OnError>{on_error}</OnError>"
    for o in objects:
        if isinstance(o, str):
            o = {"Key": o}
        out += "<Object>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in o.items()) + "</Object>"
    return (out + "</BatchGet>").encode()


class BatchGetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="samples")
        cls.data = {}
        for i in range(50):
            key = f"train/{i:04d}.bin"
            cls.data[key] = hashlib.sha256(key.encode()).digest() * (i + 1)
        cls.data["big/large.bin"] = os.urandom(3 << 20)  # file-backed: sent by sendfile
        cls.data[LONG_KEY] = b"long name"
        cls.data[UNICODE_KEY] = "bonjour".encode()
        cls.data["empty"] = b""
        for k, v in cls.data.items():
            cls.s3.put_object(Bucket="samples", Key=k, Body=v)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def post(self, bucket, body, ak=harness.ACCESS_KEY, sk=harness.SECRET_KEY):
        # Signed as any S3 request is, by botocore's own SigV4 signer.
        return harness.signed_request(self.server.endpoint, "POST", f"/{bucket}?batch-get",
                                      {"Content-Type": "application/xml"}, body, ak, sk, timeout=60)

    def members(self, r):
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertEqual(r.headers["Content-Type"], "application/x-tar")
        self.assertEqual(int(r.headers["Content-Length"]), len(r.content))
        with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:") as t:
            return [(m.name, t.extractfile(m).read() if m.isfile() else None, m.pax_headers) for m in t]

    def test_objects_come_back_in_the_order_asked(self):
        keys = [f"train/{i:04d}.bin" for i in (7, 3, 49, 0, 3)] + ["big/large.bin", LONG_KEY, UNICODE_KEY, "empty"]
        got = self.members(self.post("samples", body_of(keys)))
        self.assertEqual([n for n, _, _ in got], keys)
        for (name, data, pax), key in zip(got, keys):
            self.assertEqual(data, self.data[key], key)
            self.assertEqual(pax["SLUICE.etag"], hashlib.md5(self.data[key]).hexdigest())

    def test_ranges(self):
        got = self.members(self.post("samples", body_of([
            {"Key": "big/large.bin", "Range": "bytes=1000-1999"},
            {"Key": "train/0010.bin", "Range": "bytes=-5"},
            {"Key": "train/0001.bin", "Range": "bytes=10-"}])))
        self.assertEqual(got[0][1], self.data["big/large.bin"][1000:2000])
        self.assertEqual(got[0][2]["SLUICE.content-range"], f"bytes 1000-1999/{3 << 20}")
        self.assertEqual(got[1][1], self.data["train/0010.bin"][-5:])
        self.assertEqual(got[2][1], self.data["train/0001.bin"][10:])
        r = self.post("samples", body_of([{"Key": "train/0001.bin", "Range": "bytes=100000-"}]))
        self.assertEqual(r.status_code, 416, r.text)
        self.assertIn("<Code>InvalidRange</Code>", r.text)

    def test_missing_keys_fail_or_become_entries(self):
        r = self.post("samples", body_of(["train/0001.bin", "no/such", "train/0002.bin"]))
        self.assertEqual(r.status_code, 404, r.text)
        self.assertIn("<Code>NoSuchKey</Code>", r.text)
        self.assertIn("no/such", r.text)
        got = self.members(self.post("samples", body_of(["train/0001.bin", "no/such", "train/0002.bin"], "entry")))
        self.assertEqual([n for n, _, _ in got], ["train/0001.bin", "no/such", "train/0002.bin"])
        self.assertEqual(got[1][1], b"")
        self.assertEqual(got[1][2]["SLUICE.error"], "NoSuchKey")
        self.assertEqual(got[1][2]["SLUICE.status"], "404")
        self.assertNotIn("SLUICE.error", got[0][2])
        self.assertEqual(got[2][1], self.data["train/0002.bin"])

    def test_a_long_mixed_batch_keeps_each_entry_its_own_answer(self):
        # The server looks plain entries up 128 at a time (one index call a window); entries
        # with a range, a version, a missing key or a file behind them sit across the windows'
        # edges here and must each keep their own answer and place.
        # File-backed objects, whole and in ranges, and a two-part upload whose ranges lie in
        # one part or cross into the next.
        mids = {f"mid/{j}.bin": os.urandom(70_000 + j * 30_000) for j in range(6)}
        for k, v in mids.items():
            self.s3.put_object(Bucket="samples", Key=k, Body=v)
        parts = [os.urandom(5 << 20), os.urandom(1 << 20)]
        up = self.s3.create_multipart_upload(Bucket="samples", Key="mid/parts.bin")["UploadId"]
        etags = [self.s3.upload_part(Bucket="samples", Key="mid/parts.bin", UploadId=up, PartNumber=n + 1,
                                     Body=p)["ETag"] for n, p in enumerate(parts)]
        self.s3.complete_multipart_upload(Bucket="samples", Key="mid/parts.bin", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
        whole = b"".join(parts)
        objects, want = [], []
        for i in range(300):
            key = f"train/{i % 50:04d}.bin"
            if i % 7 == 3:
                objects.append(f"missing/{i}")
                want.append((f"missing/{i}", None))
            elif i % 11 == 5:
                objects.append({"Key": key, "Range": "bytes=2-9"})
                want.append((key, self.data[key][2:10]))
            elif i % 13 == 1:
                objects.append({"Key": "train/0005.bin", "VersionId": "null"})
                want.append(("train/0005.bin", self.data["train/0005.bin"]))
            elif i in (127, 128, 255, 256):
                objects.append("big/large.bin")
                want.append(("big/large.bin", self.data["big/large.bin"]))
            elif i % 17 == 2:
                k = f"mid/{i % 6}.bin"
                objects.append(k)
                want.append((k, mids[k]))
            elif i % 19 == 4:
                k = f"mid/{i % 6}.bin"
                objects.append({"Key": k, "Range": "bytes=1000-66535"})
                want.append((k, mids[k][1000:66536]))
            elif i % 23 == 6:  # inside the first part, then across the two
                r = (1000, 501_000) if i % 2 else ((5 << 20) - 10, (5 << 20) + 10)
                objects.append({"Key": "mid/parts.bin", "Range": f"bytes={r[0]}-{r[1] - 1}"})
                want.append(("mid/parts.bin", whole[r[0]:r[1]]))
            else:
                objects.append(key)
                want.append((key, self.data[key]))
        got = self.members(self.post("samples", body_of(objects, "entry")))
        self.assertEqual([n for n, _, _ in got], [n for n, _ in want])
        for i, ((name, data, pax), (_, expected)) in enumerate(zip(got, want)):
            if expected is None:
                self.assertEqual(pax.get("SLUICE.error"), "NoSuchKey", (i, name))
            else:
                self.assertNotIn("SLUICE.error", pax, (i, name))
                self.assertEqual(data, expected, (i, name))
        # Without "entry", the first missing key fails the whole batch, whichever window it is in.
        late = [f"train/{i % 50:04d}.bin" for i in range(200)] + ["missing/late"]
        r = self.post("samples", body_of(late))
        self.assertEqual(r.status_code, 404, r.text[:300])
        self.assertIn("missing/late", r.text)

    def test_bad_requests(self):
        for body, code in ((b"<BatchGet></BatchGet>", "MalformedXML"),
                           (b"<BatchGet><Object><Range>bytes=0-1</Range></Object></BatchGet>", "MalformedXML"),
                           (b"<BatchGet><OnError>skip</OnError><Object><Key>a</Key></Object></BatchGet>", "MalformedXML"),
                           (b"<Delete><Object><Key>a</Key></Object></Delete>", "MalformedXML"),
                           (b"not xml", "MalformedXML"),
                           (body_of(["k"] * 10001), "MalformedXML")):
            r = self.post("samples", body)
            self.assertEqual(r.status_code, 400, body[:60])
            self.assertIn(f"<Code>{code}</Code>", r.text)
        r = self.post("no-such-bucket", body_of(["a"]))
        self.assertEqual(r.status_code, 404)
        self.assertIn("<Code>NoSuchBucket</Code>", r.text)
        r = requests.post(f"{self.server.endpoint}/samples?batch-get", data=body_of(["train/0001.bin"]), timeout=30)
        self.assertEqual(r.status_code, 403, "anonymous callers get nothing")

    def test_versions_and_snapshots(self):
        self.s3.create_bucket(Bucket="vers")
        self.s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
        v1 = self.s3.put_object(Bucket="vers", Key="k", Body=b"one")["VersionId"]
        self.s3.put_object(Bucket="vers", Key="k", Body=b"two")
        got = self.members(self.post("vers", body_of([{"Key": "k", "VersionId": v1}, "k"])))
        self.assertEqual([d for _, d, _ in got], [b"one", b"two"])
        self.assertEqual(got[0][2]["SLUICE.version-id"], v1)
        # A snapshot is read as a bucket of its own: the batch sees the pinned version.
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        subprocess.run([self.server.bin, "snapshot", "create", "vers", "vers-snap"], env=env,
                       check=True, capture_output=True, timeout=60)
        self.s3.put_object(Bucket="vers", Key="k", Body=b"three")
        self.s3.delete_object(Bucket="vers", Key="k")  # a delete marker on top
        r = self.post("vers", body_of(["k"]))
        self.assertEqual(r.status_code, 404, r.text)
        self.assertEqual([d for _, d, _ in self.members(self.post("vers-snap", body_of(["k"])))], [b"two"])

    def test_each_key_is_authorized_alone(self):
        self.s3.put_object(Bucket="samples", Key="private/secret", Body=b"secret")
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")

        def admin(*args, stdin=None):
            r = subprocess.run([self.server.bin, "admin", *args], input=stdin, capture_output=True,
                               text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout
        admin("user", "add", "loader")
        key = json.loads(admin("key", "create", "loader"))
        admin("policy", "set", "train-only", "-", stdin=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::samples/train/*"}]}))
        admin("policy", "attach", "train-only", "loader")
        creds = dict(ak=key["access_key"], sk=key["secret_key"])
        r = self.post("samples", body_of(["train/0001.bin", "private/secret"]), **creds)
        self.assertEqual(r.status_code, 403, r.text)
        self.assertIn("<Code>AccessDenied</Code>", r.text)
        self.assertNotIn("secret", r.text.replace("private/secret", ""))
        got = self.members(self.post("samples", body_of(["train/0001.bin", "private/secret", "train/nope"], "entry"), **creds))
        self.assertEqual(got[0][1], self.data["train/0001.bin"])
        self.assertEqual(got[1][2]["SLUICE.error"], "AccessDenied")
        self.assertEqual(got[1][1], b"")
        # A missing key is AccessDenied, not NoSuchKey, for a caller who may not list.
        self.assertEqual(got[2][2]["SLUICE.error"], "AccessDenied")

    def test_gnu_tar_reads_it(self):
        r = self.post("samples", body_of(["train/0004.bin", LONG_KEY, UNICODE_KEY]))
        self.assertEqual(r.status_code, 200)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "batch.tar")
            with open(path, "wb") as f:
                f.write(r.content)
            listing = subprocess.run(["tar", "-tf", path], capture_output=True, text=True, check=True)
            self.assertEqual(listing.stdout.splitlines(), ["train/0004.bin", LONG_KEY, UNICODE_KEY])
            subprocess.run(["tar", "-xf", path, "-C", d], capture_output=True, check=True)
            with open(os.path.join(d, LONG_KEY), "rb") as f:
                self.assertEqual(f.read(), self.data[LONG_KEY])

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_python_client_and_cli(self):
        c = sluice.Client(endpoint=self.server.endpoint, access_key=harness.ACCESS_KEY,
                          secret_key=harness.SECRET_KEY)
        keys = [f"{i:04d}.bin" for i in (5, 1, 5)]
        got = c.get_batch("s3://samples/train/", keys)
        self.assertEqual(got, [self.data["train/" + k] for k in keys])
        got = c.get_batch("s3://samples", ["big/large.bin", "train/0002.bin"], ranges=[(0, 9), None])
        self.assertEqual(got, [self.data["big/large.bin"][:10], self.data["train/0002.bin"]])
        with self.assertRaises(sluice.ClientError) as cm:
            c.get_batch("s3://samples", ["train/0001.bin", "gone"])
        self.assertEqual(cm.exception.code, "NoSuchKey")
        got = c.get_batch("s3://samples", ["train/0001.bin", "gone"], on_error="entry")
        self.assertEqual(got[0], self.data["train/0001.bin"])
        self.assertIsInstance(got[1], sluice.ClientError)
        self.assertEqual((got[1].code, got[1].http_status), ("NoSuchKey", 404))

        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        with tempfile.TemporaryDirectory() as d:
            listf = os.path.join(d, "keys.txt")
            with open(listf, "w") as f:
                f.write("train/0003.bin\nbig/large.bin\n")
            out = os.path.join(d, "out.tar")
            subprocess.run([self.server.bin, "get-batch", "s3://samples", "train/0009.bin", "--keys-from", listf,
                            "-o", out, "-q"], env=env, check=True, timeout=60)
            with tarfile.open(out) as t:
                self.assertEqual([(m.name, t.extractfile(m).read()) for m in t],
                                 [(k, self.data[k]) for k in ("train/0009.bin", "train/0003.bin", "big/large.bin")])
            r = subprocess.run([self.server.bin, "get-batch", "s3://samples", "nope"], env=env,
                               capture_output=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"NoSuchKey", r.stderr)
            r = subprocess.run([self.server.bin, "get-batch", "s3://samples/train/", "0001.bin", "nope",
                                "--on-error", "entry"], env=env, capture_output=True, timeout=60, check=True)
            with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
                names = [(m.name, m.pax_headers.get("SLUICE.error")) for m in t]
            self.assertEqual(names, [("train/0001.bin", None), ("train/nope", "NoSuchKey")])

    def test_cli_writes_into_a_device_in_place(self):
        # -o (and cp's destination) onto something that is not a regular file, such as
        # /dev/null, is written in place: renaming the finished file over it once replaced
        # the machine's /dev/null with a plain file. A device node of our own stands in.
        import stat as st
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        with tempfile.TemporaryDirectory() as d:
            dev = os.path.join(d, "null")
            try:
                os.mknod(dev, 0o666 | st.S_IFCHR, os.makedev(1, 3))
            except OSError as e:
                self.skipTest(f"cannot make a device node here: {e}")
            subprocess.run([self.server.bin, "get-batch", "s3://samples", "train/0001.bin", "-o", dev, "-q"],
                           env=env, check=True, timeout=60)
            self.assertTrue(st.S_ISCHR(os.stat(dev).st_mode), "get-batch -o replaced the device")
            subprocess.run([self.server.bin, "cp", "s3://samples/big/large.bin", dev, "-q"],
                           env=env, check=True, timeout=60)
            self.assertTrue(st.S_ISCHR(os.stat(dev).st_mode), "cp replaced the device")
            self.assertEqual(sorted(os.listdir(d)), ["null"], "no partial file left beside it")

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_object_dataset_under_a_dataloader(self):
        import sluice.torch
        from torch.utils.data import DataLoader
        spec = dict(endpoint=self.server.endpoint, access_key=harness.ACCESS_KEY, secret_key=harness.SECRET_KEY)
        ds = sluice.torch.ObjectDataset("s3://samples/train/", client=spec,
                                        decode=lambda key, data: (key, data))
        self.assertEqual(len(ds), 50)
        self.assertEqual(ds[3], ("train/0003.bin", self.data["train/0003.bin"]))
        seen = []
        loader = DataLoader(ds, batch_size=8, shuffle=True, num_workers=2, collate_fn=lambda b: b)
        for batch in loader:
            self.assertLessEqual(len(batch), 8)
            for key, data in batch:
                self.assertEqual(data, self.data[key])
                seen.append(key)
        self.assertEqual(sorted(seen), sorted(k for k in self.data if k.startswith("train/")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
