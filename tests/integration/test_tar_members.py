"""Tar member tables (docs/tar-members.md) against the real server: archives written by
Python's tarfile in every format it has (GNU, PAX, USTAR), and by GNU tar, uploaded by a
PUT, a multipart upload and a copy; the table listed (`?members`, paginated) and compared
with tarfile's own offsets; one member read by name (`?member=`), with ranges, conditions,
versions and HEAD; members in a BatchGet; a plain ranged GET at a listed offset; what is not
an archive refused clearly; an overwritten archive's table replaced; and
sluice.torch.ShardMapDataset read through a PyTorch DataLoader.  compat: tar-members
"""
import hashlib
import io
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import unittest
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import harness

sys.path.insert(0, os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python")))
try:
    import sluice  # noqa: E402
except ImportError:
    sluice = None

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def make_tar(members, fmt=tarfile.PAX_FORMAT, extra=()):
    """A tar archive of (name, bytes) members, with tarfile's data offsets."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            t.addfile(info, io.BytesIO(data))
        for info in extra:  # directories, links
            t.addfile(info)
    raw = buf.getvalue()
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        offsets = {m.name: (m.offset_data, m.size) for m in t if m.isfile()}
    return raw, offsets


def samples(n, seed, size=(100, 3000)):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        data = rnd.randbytes(rnd.randint(*size))
        out.append((f"{i:06d}.jpg", data))
        out.append((f"{i:06d}.cls", str(i % 10).encode()))
    return out


class TarMembersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="shards")
        cls.members = samples(300, 1)
        cls.raw, cls.offsets = make_tar(cls.members)
        cls.s3.put_object(Bucket="shards", Key="train-0000.tar", Body=cls.raw)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def get(self, path, headers=None):
        return harness.signed_request(self.server.endpoint, "GET", path, headers)

    def list_members(self, key, bucket="shards", **params):
        out, after = [], None
        while True:
            q = {"members": ""}
            q.update(params)
            if after:
                q["start-after"] = after
            r = self.get(f"/{bucket}/{urllib.parse.quote(key)}?" + urllib.parse.urlencode(q))
            self.assertEqual(r.status_code, 200, r.text[:300])
            root = ET.fromstring(r.content)
            for m in root.findall(NS + "Member"):
                out.append((m.find(NS + "Name").text, int(m.find(NS + "Offset").text),
                            int(m.find(NS + "Size").text)))
            if root.find(NS + "IsTruncated").text != "true":
                return out, root
            after = root.find(NS + "NextStartAfter").text

    def member(self, key, name, bucket="shards", headers=None, method="GET"):
        path = f"/{bucket}/{urllib.parse.quote(key)}?member={urllib.parse.quote(name, safe='')}"
        return harness.signed_request(self.server.endpoint, method, path, headers)

    def assert_table(self, key, offsets, bucket="shards"):
        got, _ = self.list_members(key, bucket)
        self.assertEqual([n for n, _, _ in got], sorted(offsets))
        for name, off, size in got:
            self.assertEqual((off, size), offsets[name], name)

    def test_table_matches_tarfile_offsets_across_pages(self):
        got, root = self.list_members("train-0000.tar", **{"max-members": "77"})
        self.assertEqual(len(got), 600)
        self.assertEqual(root.find(NS + "MemberCount").text, "600")
        self.assertEqual(root.find(NS + "ETag").text, '"%s"' % hashlib.md5(self.raw).hexdigest())
        for name, off, size in got:
            self.assertEqual((off, size), self.offsets[name], name)

    def test_member_by_name(self):
        data = dict(self.members)
        for name in ("000000.jpg", "000123.cls", "000299.jpg"):
            r = self.member("train-0000.tar", name)
            self.assertEqual(r.status_code, 200, r.text[:300])
            self.assertEqual(r.content, data[name])
            self.assertEqual(int(r.headers["Content-Length"]), len(data[name]))
            etag = r.headers["ETag"]
            self.assertEqual(etag, '"%s-m%d"' % (hashlib.md5(self.raw).hexdigest(), self.offsets[name][0]))
            # Conditions and ranges apply to the member.
            self.assertEqual(self.member("train-0000.tar", name, headers={"If-None-Match": etag}).status_code, 304)
            self.assertEqual(self.member("train-0000.tar", name, headers={"If-Match": '"x"'}).status_code, 412)
            h = self.member("train-0000.tar", name, method="HEAD")
            self.assertEqual(h.status_code, 200)
            self.assertEqual(int(h.headers["Content-Length"]), len(data[name]))
            self.assertEqual(h.content, b"")
            if not name.endswith(".jpg"):
                continue  # one byte: no range inside it
            r = self.member("train-0000.tar", name, headers={"Range": "bytes=1-2"})
            self.assertEqual(r.status_code, 206)
            self.assertEqual(r.content, data[name][1:3])
            self.assertEqual(r.headers["Content-Range"], f"bytes 1-2/{len(data[name])}")
            r = self.member("train-0000.tar", name, headers={"Range": "bytes=5000-"})
            self.assertEqual(r.status_code, 416)

    def test_plain_ranged_get_at_a_listed_offset(self):
        got, _ = self.list_members("train-0000.tar")
        name, off, size = got[5]
        body = self.s3.get_object(Bucket="shards", Key="train-0000.tar",
                                  Range=f"bytes={off}-{off + size - 1}")["Body"].read()
        self.assertEqual(body, dict(self.members)[name])

    def test_errors(self):
        r = self.member("train-0000.tar", "no-such.jpg")
        self.assertEqual(r.status_code, 404)
        self.assertIn("<Code>NoSuchKey</Code>", r.text)
        self.assertIn("no-such.jpg", r.text)
        r = self.member("missing.tar", "a")
        self.assertEqual(r.status_code, 404)
        r = self.get("/shards/train-0000.tar?member=")
        self.assertEqual(r.status_code, 400)
        self.assertIn("<Code>InvalidArgument</Code>", r.text)
        for bad in ("0", "10001", "x"):
            r = self.get(f"/shards/train-0000.tar?members&max-members={bad}")
            self.assertEqual(r.status_code, 400, bad)
            self.assertIn("<Code>InvalidArgument</Code>", r.text)
        # Not archives: random bytes (stored and inline), a truncated archive, gzip.
        self.s3.put_object(Bucket="shards", Key="random.bin", Body=os.urandom(200000))
        self.s3.put_object(Bucket="shards", Key="small.bin", Body=b"x" * 1000)
        self.s3.put_object(Bucket="shards", Key="truncated.tar", Body=self.raw[:100000])
        for key in ("random.bin", "small.bin", "truncated.tar"):
            r = self.member(key, "000000.jpg")
            self.assertEqual(r.status_code, 400, key)
            self.assertIn("<Code>InvalidRequest</Code>", r.text)
            self.assertIn("not a tar archive", r.text)
            r = self.get(f"/shards/{key}?members")
            self.assertEqual(r.status_code, 400, key)
        # Unsigned: refused as a GET would be.
        import requests
        r = requests.get(self.server.endpoint + "/shards/train-0000.tar?member=000000.jpg")
        self.assertEqual(r.status_code, 403)

    def test_formats_and_writers(self):
        long_name = "deep/" + "d" * 150 + "/sample.txt"
        extra = []
        d = tarfile.TarInfo("adir")
        d.type = tarfile.DIRTYPE
        extra.append(d)
        ln = tarfile.TarInfo("alink")
        ln.type = tarfile.SYMTYPE
        ln.linkname = "000000.jpg"
        extra.append(ln)
        members = samples(20, 2) + [(long_name, b"long"), ("ünïcode/ß.txt", b"utf8"), ("empty", b"")]
        for fmt, label in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax"), (tarfile.USTAR_FORMAT, "ustar")):
            ms = members if fmt != tarfile.USTAR_FORMAT else [m for m in members if m[0] != long_name]
            raw, offsets = make_tar(ms, fmt, extra)
            key = f"fmt-{label}.tar"
            self.s3.put_object(Bucket="shards", Key=key, Body=raw)
            self.assert_table(key, offsets)
            for name, data in ms:
                self.assertEqual(self.member(key, name).content, data, (label, name))
        # GNU tar, from files on disk (./-prefixed names, a directory, a big member).
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "src/sub"))
            for i in range(5):
                with open(os.path.join(d, f"src/sub/f{i}.bin"), "wb") as f:
                    f.write(os.urandom(1000 * i + 7))
            with open(os.path.join(d, "src/big.bin"), "wb") as f:
                f.write(os.urandom(3 << 20))
            out = os.path.join(d, "a.tar")
            subprocess.run(["tar", "-C", os.path.join(d, "src"), "-cf", out, "."], check=True)
            with open(out, "rb") as f:
                raw = f.read()
        with tarfile.open(fileobj=io.BytesIO(raw)) as t:
            offsets = {m.name: (m.offset_data, m.size) for m in t if m.isfile()}
        self.s3.put_object(Bucket="shards", Key="gnutar.tar", Body=raw)
        self.assert_table("gnutar.tar", offsets)
        self.assertEqual(self.member("gnutar.tar", "./big.bin").content,
                         raw[offsets["./big.bin"][0]:offsets["./big.bin"][0] + (3 << 20)])

    def test_small_archive_stored_inline(self):
        raw, offsets = make_tar([("a.txt", b"alpha"), ("b.txt", b"beta"), ("a.txt", b"again")])
        self.assertLess(len(raw), 64 << 10)
        self.s3.put_object(Bucket="shards", Key="tiny.tar", Body=raw)
        got, _ = self.list_members("tiny.tar")
        self.assertEqual([n for n, _, _ in got], ["a.txt", "b.txt"])
        # A repeated name is the later member, as extracting the archive gives.
        self.assertEqual(self.member("tiny.tar", "a.txt").content, b"again")
        self.assertEqual(self.member("tiny.tar", "b.txt").content, b"beta")

    def test_multipart_and_copy(self):
        members = samples(2000, 3, size=(2000, 9000))  # about 11 MiB: three parts
        raw, offsets = make_tar(members)
        up = self.s3.create_multipart_upload(Bucket="shards", Key="mp.tar")["UploadId"]
        part = 5 << 20
        parts = []
        for i in range(0, len(raw), part):
            r = self.s3.upload_part(Bucket="shards", Key="mp.tar", UploadId=up,
                                    PartNumber=i // part + 1, Body=raw[i:i + part])
            parts.append({"PartNumber": i // part + 1, "ETag": r["ETag"]})
        self.assertGreater(len(parts), 2)
        self.s3.complete_multipart_upload(Bucket="shards", Key="mp.tar", UploadId=up,
                                          MultipartUpload={"Parts": parts})
        self.assert_table("mp.tar", offsets)
        data = dict(members)
        for name in ("000000.jpg", "000999.jpg", "001999.cls"):  # some straddle parts
            self.assertEqual(self.member("mp.tar", name).content, data[name])
        self.s3.copy_object(Bucket="shards", Key="copy.tar", CopySource="shards/mp.tar")
        self.assert_table("copy.tar", offsets)
        self.assertEqual(self.member("copy.tar", "001234.jpg").content, data["001234.jpg"])

    def test_overwrite_replaces_the_table_and_versions_keep_theirs(self):
        self.s3.create_bucket(Bucket="versioned")
        self.s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        raw1, off1 = make_tar(samples(50, 4))
        raw2, off2 = make_tar([("other.txt", b"x" * 70000)])
        v1 = self.s3.put_object(Bucket="versioned", Key="s.tar", Body=raw1)["VersionId"]
        self.s3.put_object(Bucket="versioned", Key="s.tar", Body=raw2)
        self.assert_table("s.tar", off2, "versioned")
        self.assertEqual(self.member("s.tar", "000001.jpg", "versioned").status_code, 404)
        r = harness.signed_request(self.server.endpoint, "GET",
                                   f"/versioned/s.tar?member=000001.jpg&versionId={v1}")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, dict(samples(50, 4))["000001.jpg"])
        self.assertEqual(r.headers["x-amz-version-id"], v1)
        # Unversioned: the old table goes with the old bytes.
        self.s3.put_object(Bucket="shards", Key="over.tar", Body=raw1)
        self.s3.put_object(Bucket="shards", Key="over.tar", Body=os.urandom(100000))
        self.assertEqual(self.member("over.tar", "000001.jpg").status_code, 400)
        self.s3.put_object(Bucket="shards", Key="over.tar", Body=raw2)
        self.assert_table("over.tar", off2)

    def test_batch_get_names_members(self):
        data = dict(self.members)
        names = ["000010.jpg", "000010.cls", "000200.jpg"]
        body = "<BatchGet><OnError>entry</OnError>"
        for n in names + ["nope.jpg"]:
            body += f"<Object><Key>train-0000.tar</Key><Member>{escape(n)}</Member></Object>"
        body += "<Object><Key>train-0000.tar</Key><Member>000011.jpg</Member><Range>bytes=0-9</Range></Object>"
        body += "</BatchGet>"
        r = harness.signed_request(self.server.endpoint, "POST", "/shards?batch-get",
                                   {"Content-Type": "application/xml"}, body.encode())
        self.assertEqual(r.status_code, 200, r.text[:300])
        with tarfile.open(fileobj=io.BytesIO(r.content)) as t:
            got = [(m.name, t.extractfile(m).read(), m.pax_headers) for m in t]
        self.assertEqual([g[0] for g in got], names + ["nope.jpg", "000011.jpg"])
        for (name, content, pax) in got[:3]:
            self.assertEqual(content, data[name])
            self.assertEqual(pax["SLUICE.archive"], "train-0000.tar")
        self.assertEqual(got[3][2]["SLUICE.error"], "NoSuchKey")
        self.assertEqual(got[4][1], data["000011.jpg"][:10])

    def test_batch_get_of_many_members_of_two_archives(self):
        # The server looks a window's members up per archive in one index call and, on a
        # store that reads many ranges at once, reads their bytes ahead together: members of
        # two archives interleaved over three windows, with a missing archive, an object
        # that is not an archive, a missing member and ranges, each keep their own answer.
        other = samples(40, 7, size=(20_000, 90_000))  # file-backed members
        raw, _ = make_tar(other)
        self.s3.put_object(Bucket="shards", Key="train-0001.tar", Body=raw)
        self.s3.put_object(Bucket="shards", Key="plain.bin", Body=b"not a tar")
        first, second = dict(self.members), dict(other)
        rnd = random.Random(3)
        objects, want = [], []
        for i in range(300):
            if i % 29 == 7:
                objects.append(("missing.tar", "000001.jpg", None))
                want.append(("000001.jpg", "NoSuchKey"))
            elif i % 31 == 9:
                objects.append(("plain.bin", "000001.jpg", None))
                want.append(("000001.jpg", "InvalidRequest"))
            elif i % 37 == 11:
                objects.append(("train-0001.tar", "nope.jpg", None))
                want.append(("nope.jpg", "NoSuchKey"))
            elif i % 2:
                name = rnd.choice(list(second))
                rng = (5, 1004) if i % 5 == 0 and name.endswith(".jpg") else None
                objects.append(("train-0001.tar", name, rng))
                want.append((name, second[name][5:1005] if rng else second[name]))
            else:
                name = rnd.choice(list(first))
                objects.append(("train-0000.tar", name, None))
                want.append((name, first[name]))
        body = "<BatchGet><OnError>entry</OnError>"
        for key, name, rng in objects:
            body += f"<Object><Key>{key}</Key><Member>{escape(name)}</Member>"
            if rng:
                body += f"<Range>bytes={rng[0]}-{rng[1]}</Range>"
            body += "</Object>"
        body += "</BatchGet>"
        r = harness.signed_request(self.server.endpoint, "POST", "/shards?batch-get",
                                   {"Content-Type": "application/xml"}, body.encode(), timeout=60)
        self.assertEqual(r.status_code, 200, r.text[:300])
        with tarfile.open(fileobj=io.BytesIO(r.content)) as t:
            got = [(m.name, t.extractfile(m).read(), m.pax_headers) for m in t]
        self.assertEqual([g[0] for g in got], [w[0] for w in want])
        for i, ((name, content, pax), (_, expected)) in enumerate(zip(got, want)):
            if isinstance(expected, str):
                self.assertEqual(pax.get("SLUICE.error"), expected, (i, name))
            else:
                self.assertNotIn("SLUICE.error", pax, (i, name))
                self.assertEqual(content, expected, (i, name))

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_python_client_and_shard_map_dataset(self):
        import torch
        import sluice.torch as st
        shards = {}
        for s in range(4):
            ms = samples(64, 100 + s)
            raw, _ = make_tar(ms)
            key = f"ds/shard-{s:03d}.tar"
            self.s3.put_object(Bucket="shards", Key=key, Body=raw)
            shards[key] = ms
        c = sluice.Client(self.server.endpoint, harness.ACCESS_KEY, harness.SECRET_KEY)
        table = c.list_members("s3://shards/ds/shard-000.tar")
        self.assertEqual(len(table), 128)
        self.assertEqual(c.get_member("s3://shards/ds/shard-001.tar", "000003.jpg"), dict(shards["ds/shard-001.tar"])["000003.jpg"])
        ds = st.ShardMapDataset("s3://shards/ds/", client=c)
        self.assertEqual(len(ds), 4 * 64)
        expect = {}
        for key, ms in shards.items():
            for i in range(64):
                expect[(key, f"{i:06d}")] = {"jpg": dict(ms)[f"{i:06d}.jpg"], "cls": dict(ms)[f"{i:06d}.cls"]}
        # A global shuffle over every sample of every shard, in worker processes.
        loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, num_workers=2,
                                             collate_fn=lambda b: b)
        seen = 0
        for batch in loader:
            for sample in batch:
                self.assertEqual({"jpg": sample["jpg"], "cls": sample["cls"]},
                                 expect[(sample["__url__"][len("s3://shards/"):], sample["__key__"])])
                seen += 1
        self.assertEqual(seen, 4 * 64)


if __name__ == "__main__":
    unittest.main()
