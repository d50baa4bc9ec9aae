"""Appends (PutObject with x-amz-write-offset-bytes, S3 Express One Zone's semantics) on an
ordinary bucket, against the real server: boto3 sending the header through its ordinary
request path, the sluice Python module's open(url, "ab"), and a TensorBoard-format event
writer (length, masked CRC32C, record, masked CRC32C) that flushes 10,000 times, with the
bytes it sends growing linearly, the object parsing back record by record, and a kill -9 of
the server mid-run losing no acknowledged record.  compat: append
"""
import base64
import hashlib
import os
import struct
import subprocess
import sys
import threading
import time
import unittest
import zlib


import harness

sys.path.insert(0, os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python")))
try:
    import sluice  # noqa: E402
except ImportError:  # the module is built only where pybind11 is
    sluice = None


# CRC32C (Castagnoli), table-driven: TFRecord / tfevents framing uses it, masked.
def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_T = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tf_record(payload):
    """One record as TensorBoard's event files frame it."""
    header = struct.pack("<Q", len(payload))
    return header + struct.pack("<I", masked_crc(header)) + payload + struct.pack("<I", masked_crc(payload))


def parse_records(blob):
    """The records of an event file, each checked; raises on a torn or corrupt record."""
    out, at = [], 0
    while at < len(blob):
        if len(blob) - at < 12:
            raise ValueError(f"torn header at {at}")
        header = blob[at:at + 8]
        (n,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", blob[at + 8:at + 12])
        if hcrc != masked_crc(header):
            raise ValueError(f"bad header CRC at {at}")
        payload = blob[at + 12:at + 12 + n]
        if len(payload) != n or len(blob) < at + 16 + n:
            raise ValueError(f"torn record at {at}")
        (pcrc,) = struct.unpack("<I", blob[at + 12 + n:at + 16 + n])
        if pcrc != masked_crc(payload):
            raise ValueError(f"bad payload CRC at {at}")
        out.append(payload)
        at += 16 + n
    return out


def event(step):
    # The size of a scalar summary event; the content only has to be distinct per step.
    return b"step=%08d loss=%.6f " % (step, 1.0 / (step + 1)) + b"s" * (step % 17)


ON_CEPH = "appends need in-place extension, which the RADOS data store lacks yet (501)"


@unittest.skipIf(harness.ceph_conf(), ON_CEPH)
class AppendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="logs")
        cls.s3.create_bucket(Bucket="versioned")
        cls.s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        # boto3 sends the header through its ordinary request path: an event hook adds it.
        cls.offset = threading.local()

        def add_offset(request, **kw):
            off = getattr(cls.offset, "value", None)
            if off is not None:
                request.headers["x-amz-write-offset-bytes"] = str(off)
        cls.s3.meta.events.register("before-sign.s3.PutObject", add_offset)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def append(self, key, offset, body, bucket="logs", **kw):
        self.offset.value = offset
        try:
            return self.s3.put_object(Bucket=bucket, Key=key, Body=body, **kw)
        finally:
            self.offset.value = None

    def error(self, fn):
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            fn()
        e = cm.exception.response
        return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"].get("Message", "")

    def send(self, method, path, headers=None, body=b""):
        return harness.signed_request(self.server.endpoint, method, path, headers, body)

    def get(self, key, bucket="logs", **kw):
        return self.s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()

    def test_appends_grow_the_object_and_keep_its_md5_etag(self):
        data = b""
        # Small (inline in the index), then past the 64 KiB inline threshold, then large.
        for i, n in enumerate([10, 1000, 70000, 5, 3 << 20, 1]):
            chunk = bytes([65 + i]) * n
            r = self.append("grow", len(data), chunk)
            data += chunk
            self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"]["x-amz-object-size"], str(len(data)))
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
            head = self.s3.head_object(Bucket="logs", Key="grow")
            self.assertEqual(head["ContentLength"], len(data))
            self.assertEqual(head["ETag"], r["ETag"])
        self.assertEqual(self.get("grow"), data)
        # A reader polling the tail sees each append at once.
        self.append("grow", len(data), b"tail!")
        data += b"tail!"
        self.assertEqual(self.get("grow", Range=f"bytes={len(data) - 5}-"), b"tail!")
        self.assertEqual(self.s3.list_objects_v2(Bucket="logs", Prefix="grow")["Contents"][0]["Size"], len(data))

    def test_appending_to_objects_written_otherwise(self):
        # A plain PUT (inline), a file-backed PUT, and a multipart object all take appends;
        # the ETag becomes the MD5 of all the bytes, and the object reads back whole.
        small = b"s" * 100
        self.s3.put_object(Bucket="logs", Key="plain-small", Body=small)
        self.append("plain-small", 100, b"+more")
        self.assertEqual(self.get("plain-small"), small + b"+more")
        big = os.urandom(300000)
        self.s3.put_object(Bucket="logs", Key="plain-big", Body=big)
        r = self.append("plain-big", len(big), b"+more")
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(big + b"+more").hexdigest())
        up = self.s3.create_multipart_upload(Bucket="logs", Key="mpu")["UploadId"]
        parts, whole = [], b""
        for n in (1, 2):
            body = bytes([48 + n]) * (5 << 20)
            e = self.s3.upload_part(Bucket="logs", Key="mpu", UploadId=up, PartNumber=n, Body=body)["ETag"]
            parts.append({"PartNumber": n, "ETag": e})
            whole += body
        self.s3.complete_multipart_upload(Bucket="logs", Key="mpu", UploadId=up,
                                          MultipartUpload={"Parts": parts})
        r = self.append("mpu", len(whole), b"appended")
        whole += b"appended"
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(whole).hexdigest())
        self.assertEqual(self.get("mpu"), whole)
        self.assertEqual(self.get("mpu", Range="bytes=5242878-5242881"), b"1122")

    def test_wrong_offsets_and_bad_values_change_nothing(self):
        self.append("w", 0, b"0123456789")
        for off in (0, 9, 11, 100):
            status, code, msg = self.error(lambda: self.append("w", off, b"x"))
            self.assertEqual((status, code), (400, "InvalidWriteOffset"), off)
            self.assertIn("10 bytes", msg)
        status, code, msg = self.error(lambda: self.append("absent", 5, b"x"))
        self.assertEqual((status, code), (400, "InvalidWriteOffset"))
        for bad in ("-1", "abc", "1.5", "", "18446744073709551616"):
            r = self.send("PUT", "/logs/w", {"x-amz-write-offset-bytes": bad}, b"x")
            self.assertEqual(r.status_code, 400, bad)
            self.assertIn("<Code>InvalidArgument</Code>", r.text, bad)
        self.assertEqual(self.get("w"), b"0123456789")
        status, _, _ = self.error(lambda: self.s3.head_object(Bucket="logs", Key="absent"))
        self.assertEqual(status, 404)
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket="logs", Prefix="absent"))

    def test_conditions_compose(self):
        # Debian's botocore has no IfMatch on PutObject: the headers go as S3 defines them.
        etag = self.append("c", 0, b"abc")["ETag"]
        r = self.send("PUT", "/logs/c", {"x-amz-write-offset-bytes": "3", "If-Match": '"0123"'}, b"d")
        self.assertEqual(r.status_code, 412, r.text)
        self.assertIn("<Code>PreconditionFailed</Code>", r.text)
        r = self.send("PUT", "/logs/c", {"x-amz-write-offset-bytes": "3", "If-Match": etag}, b"d")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.get("c"), b"abcd")
        r = self.send("PUT", "/logs/c", {"x-amz-write-offset-bytes": "4", "If-None-Match": "*"}, b"e")
        self.assertEqual(r.status_code, 412, r.text)
        r = self.send("PUT", "/logs/nothing", {"x-amz-write-offset-bytes": "0", "If-Match": etag}, b"e")
        self.assertEqual(r.status_code, 404, r.text)
        r = self.send("PUT", "/logs/c2", {"x-amz-write-offset-bytes": "0", "If-None-Match": "*"}, b"new")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.get("c"), b"abcd")
        self.assertEqual(self.get("c2"), b"new")

    def test_full_object_crc_carries_on_and_other_checksums_are_dropped(self):
        def crc32c_b64(data):
            return base64.b64encode(struct.pack(">I", crc32c(data))).decode()
        part1, part2, part3 = b"first part ", b"second part ", os.urandom(100000)
        self.append("crc", 0, part1, ChecksumCRC32C=crc32c_b64(part1))
        # An append with the same algorithm, with another one, and with none.
        self.append("crc", len(part1), part2, ChecksumCRC32C=crc32c_b64(part2))
        self.append("crc", len(part1 + part2), part3,
                    ChecksumCRC32=base64.b64encode(struct.pack(">I", zlib.crc32(part3))).decode())
        self.append("crc", len(part1 + part2 + part3), b"!")
        whole = part1 + part2 + part3 + b"!"
        head = self.s3.head_object(Bucket="logs", Key="crc", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumCRC32C"], crc32c_b64(whole))
        self.assertEqual(head.get("ChecksumType", "FULL_OBJECT"), "FULL_OBJECT")
        # A wrong checksum on an append is refused, and the object is unchanged.
        status, code, _ = self.error(lambda: self.append("crc", len(whole), b"x", ChecksumCRC32C=crc32c_b64(b"y")))
        self.assertEqual(status, 400)
        self.assertEqual(self.get("crc"), whole)
        # A SHA-256 cannot carry on: the appended object has no checksum rather than a false one.
        self.s3.put_object(Bucket="logs", Key="sha", Body=b"abc", ChecksumAlgorithm="SHA256")
        self.append("sha", 3, b"def")
        head = self.s3.head_object(Bucket="logs", Key="sha", ChecksumMode="ENABLED")
        self.assertNotIn("ChecksumSHA256", head)
        self.assertEqual(self.get("sha"), b"abcdef")

    def test_metadata_is_set_at_creation_and_kept(self):
        self.append("m", 0, b"a", ContentType="text/plain", Metadata={"run": "7"}, Tagging="k=v")
        self.append("m", 1, b"b", ContentType="application/octet-stream")
        head = self.s3.head_object(Bucket="logs", Key="m")
        self.assertEqual(head["ContentType"], "text/plain")
        self.assertEqual(head["Metadata"], {"run": "7"})
        status, code, msg = self.error(lambda: self.append("m", 2, b"c", Metadata={"run": "8"}))
        self.assertEqual((status, code), (400, "InvalidRequest"))
        for header in ({"x-amz-acl": "public-read"}, {"x-amz-grant-read": 'id="someone"'}):
            r = self.send("PUT", "/logs/m", {"x-amz-write-offset-bytes": "2", **header}, b"c")
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn("<Code>InvalidRequest</Code>", r.text)
        self.assertEqual(self.s3.get_object_tagging(Bucket="logs", Key="m")["TagSet"], [{"Key": "k", "Value": "v"}])
        self.assertEqual(self.get("m"), b"ab")

    def test_refused_where_it_cannot_apply(self):
        self.s3.put_object(Bucket="versioned", Key="v", Body=b"abc")
        status, code, msg = self.error(lambda: self.append("v", 3, b"d", bucket="versioned"))
        self.assertEqual((status, code), (501, "NotImplemented"))
        self.assertIn("versioning", msg)
        self.assertEqual(self.get("v", bucket="versioned"), b"abc")
        # Every other write that could carry the header refuses it rather than ignore it.
        self.append("src", 0, b"abc")
        r = self.send("PUT", "/logs/copy", {"x-amz-write-offset-bytes": "0", "x-amz-copy-source": "/logs/src"})
        self.assertEqual(r.status_code, 501, r.text)
        self.assertIn("x-amz-write-offset-bytes", r.text)
        r = self.send("POST", "/logs/mpu2?uploads", {"x-amz-write-offset-bytes": "0"})
        self.assertEqual(r.status_code, 501, r.text)

    def test_racing_appends_at_one_offset_land_once(self):
        self.append("race", 0, b"start;")
        results = []

        def go(i):
            try:
                self.append("race", 6, b"writer-%02d;" % i)
                results.append(("ok", i))
            except self.s3.exceptions.ClientError as e:
                results.append((e.response["Error"]["Code"], i))
        threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [i for what, i in results if what == "ok"]
        self.assertEqual(len(winners), 1, results)
        self.assertTrue(all(what in ("ok", "InvalidWriteOffset", "ConditionalRequestConflict") for what, _ in results), results)
        self.assertEqual(self.get("race"), b"start;writer-%02d;" % winners[0])

    def test_a_put_between_appends_is_not_overwritten(self):
        self.append("between", 0, b"x" * 200000)
        self.s3.put_object(Bucket="logs", Key="between", Body=b"y" * 200000)
        # Same size: the offset matches, and the append extends the new object, not the old.
        r = self.append("between", 200000, b"z")
        self.assertEqual(self.get("between"), b"y" * 200000 + b"z")
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(b"y" * 200000 + b"z").hexdigest())

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_python_append_file(self):
        c = sluice.Client(endpoint=self.server.endpoint, access_key=harness.ACCESS_KEY,
                          secret_key=harness.SECRET_KEY)
        with c.open("s3://logs/py.log", "ab") as f:
            f.write(b"one\n")
            f.flush()
            self.assertEqual(self.get("py.log"), b"one\n", "flush() makes it visible")
            f.write(b"two\n")
            self.assertEqual(f.tell(), 8)
        self.assertEqual(self.get("py.log"), b"one\ntwo\n")
        with c.open("s3://logs/py.log", "ab") as f:  # reopened: goes on at the end
            f.write(b"three\n")
        self.assertEqual(self.get("py.log"), b"one\ntwo\nthree\n")
        self.assertEqual(c.append("s3://logs/py.log", b"four\n", 14), 19)
        with self.assertRaises(sluice.ClientError) as cm:
            c.append("s3://logs/py.log", b"x", 3)
        self.assertEqual(cm.exception.code, "InvalidWriteOffset")

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_event_writer_flushing_10000_times(self):
        c = sluice.Client(endpoint=self.server.endpoint, access_key=harness.ACCESS_KEY,
                          secret_key=harness.SECRET_KEY)
        sent = []  # bytes each flush sent: the object's growth, never the whole file again
        start = time.monotonic()
        with c.open("s3://logs/run1/events.out.tfevents", "ab") as f:
            for step in range(10000):
                before = f.tell() - len(f._pending)
                f.write(tf_record(event(step)))
                f.flush()
                sent.append(f.tell() - before)
        took = time.monotonic() - start
        blob = self.get("run1/events.out.tfevents")
        records = parse_records(blob)
        self.assertEqual(records, [event(s) for s in range(10000)])
        self.assertEqual(sum(sent), len(blob), "each byte sent once: linear, not quadratic")
        self.assertLessEqual(max(sent), max(len(tf_record(event(s))) for s in range(17)))
        print(f"\n10,000 flushes of {len(blob)} bytes: {took:.1f} s, {10000 / took:.0f} appends/s; "
              f"sent {sum(sent)} bytes (re-uploading the file on each flush would send "
              f"{sum(len(blob) * (i + 1) // 10000 for i in range(10000))})", file=sys.stderr)


@unittest.skipIf(harness.ceph_conf(), ON_CEPH)
@unittest.skipIf(sluice is None, "the sluice Python module is not built")
class TensorBoardRecipeTest(unittest.TestCase):
    """sluice.tensorboard (docs/training-logs.md). Neither tensorboardX nor TensorBoard is
    in Debian: stand-in modules with the interfaces the patches use, as those libraries
    define them (tensorboardX.record_writer.register_writer_factory and a factory's
    open(path) -> write/flush/close; TensorBoard's stub gfile.S3FileSystem with
    bucket_and_path and _s3_endpoint, whose GFile calls fs.append when it exists)."""

    @classmethod
    def setUpClass(cls):
        import types
        import sluice.tensorboard as tb
        cls.tb = tb
        cls.server = harness.Server().start()
        os.environ["S3_ENDPOINT"] = cls.server.endpoint
        os.environ["AWS_ACCESS_KEY_ID"] = harness.ACCESS_KEY
        os.environ["AWS_SECRET_ACCESS_KEY"] = harness.SECRET_KEY
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="tbx")
        cls.s3.create_bucket(Bucket="tb-versioned")
        cls.s3.put_bucket_versioning(Bucket="tb-versioned", VersioningConfiguration={"Status": "Enabled"})
        rw = types.ModuleType("tensorboardX.record_writer")
        rw.REGISTERED_FACTORIES = {}
        rw.register_writer_factory = lambda prefix, factory: rw.REGISTERED_FACTORIES.__setitem__(prefix, factory)
        tbx = types.ModuleType("tensorboardX")
        tbx.record_writer = rw
        sys.modules.update({"tensorboardX": tbx, "tensorboardX.record_writer": rw})
        cls.rw = rw

    @classmethod
    def tearDownClass(cls):
        for m in ("tensorboardX", "tensorboardX.record_writer"):
            sys.modules.pop(m, None)
        cls.server.cleanup()

    def counting_client(self):
        import boto3
        c = boto3.client("s3", endpoint_url=self.server.endpoint)
        c.sent = 0

        def count(request, **kw):
            if request.method == "PUT":
                c.sent += int(request.headers.get("Content-Length", 0))
        c.meta.events.register("before-send.s3.PutObject", count)
        return c

    def write_run(self, url, steps, client):
        self.tb.patch_tensorboardx()
        factory = self.rw.REGISTERED_FACTORIES["s3"]
        w = factory.open(url)
        w.client = client
        for step in range(steps):
            w.write(tf_record(event(step)))
            w.flush()  # tensorboardX flushes every flush_secs; here after each record
        w.close()

    def test_tensorboardx_writer_sends_each_byte_once(self):
        c = self.counting_client()
        self.write_run("s3://tbx/run/events.out.tfevents.1", 500, c)
        blob = self.s3.get_object(Bucket="tbx", Key="run/events.out.tfevents.1")["Body"].read()
        self.assertEqual(parse_records(blob), [event(s) for s in range(500)])
        self.assertEqual(c.sent, len(blob), "appends: each byte sent once")

    def test_tensorboardx_writer_falls_back_where_appends_are_refused(self):
        c = self.counting_client()
        self.write_run("s3://tb-versioned/run/events", 50, c)
        blob = self.s3.get_object(Bucket="tb-versioned", Key="run/events")["Body"].read()
        self.assertEqual(parse_records(blob), [event(s) for s in range(50)])
        self.assertGreater(c.sent, 10 * len(blob), "whole uploads, as before the patch")

    def test_tensorboard_stub_gfile_gets_an_append(self):
        import types
        gfile = types.ModuleType("gfile")

        class S3FileSystem:  # the stub's, reduced to what append() uses
            def __init__(self):
                self._s3_endpoint = os.environ["S3_ENDPOINT"]

            def bucket_and_path(self, url):
                bucket, _, key = url[len("s3://"):].partition("/")
                return bucket, key

            def write(self, filename, content, binary_mode=False):
                bucket, key = self.bucket_and_path(filename)
                harness.boto3_client(self._s3_endpoint).put_object(Bucket=bucket, Key=key, Body=content)
        gfile.S3FileSystem = S3FileSystem
        mods = {"tensorboard": types.ModuleType("tensorboard"),
                "tensorboard.compat": types.ModuleType("tensorboard.compat"),
                "tensorboard.compat.tensorflow_stub": types.ModuleType("tensorboard.compat.tensorflow_stub"),
                "tensorboard.compat.tensorflow_stub.io": types.ModuleType("tensorboard.compat.tensorflow_stub.io")}
        mods["tensorboard.compat.tensorflow_stub.io"].gfile = gfile
        sys.modules.update(mods)
        try:
            self.tb.patch_tensorboard_stub()
            fs = S3FileSystem()
            self.assertTrue(hasattr(fs, "append"), "GFile appends when its file system can")
            # GFile's write path with append: the first write truncates, the rest append.
            fs.write("s3://tbx/stub/events", tf_record(event(0)), True)
            for step in range(1, 100):
                fs.append("s3://tbx/stub/events", tf_record(event(step)), True)
            blob = self.s3.get_object(Bucket="tbx", Key="stub/events")["Body"].read()
            self.assertEqual(parse_records(blob), [event(s) for s in range(100)])
            fs.write("s3://tb-versioned/stub/events", b"a", True)
            fs.append("s3://tb-versioned/stub/events", b"b", True)  # refused: rewritten whole
            self.assertEqual(self.s3.get_object(Bucket="tb-versioned", Key="stub/events")["Body"].read(), b"ab")
        finally:
            for m in mods:
                sys.modules.pop(m, None)


@unittest.skipIf(harness.ceph_conf(), ON_CEPH)
@unittest.skipIf(sluice is None, "the sluice Python module is not built")
class AppendCrashTest(unittest.TestCase):
    """kill -9 of the server while an event writer appends: every record whose flush
    returned is there after the restart, whole, and the file parses to its end."""

    WRITER = r"""
import os, sys, time
sys.path.insert(0, os.environ["SLUICE_PYTHONPATH"])
sys.path.insert(0, os.environ["TEST_DIR"])
import sluice
from test_append import tf_record, event
c = sluice.Client(endpoint=os.environ["EP"], access_key=os.environ["AK"], secret_key=os.environ["SK"])
acked = open(os.environ["ACKED"], "a", buffering=1)
step = 0
try:
    with c.open("s3://logs/crash/events", "ab") as f:
        while step < 100000:
            f.write(tf_record(event(step)))
            f.flush()
            acked.write(f"{step} {f.tell()}\n")
            step += 1
except Exception as e:
    print("writer stopped:", e, file=sys.stderr)
"""

    def test_kill9_mid_run_loses_no_acknowledged_record(self):
        server = harness.Server().start()
        try:
            s3 = harness.boto3_client(server.endpoint)
            s3.create_bucket(Bucket="logs")
            acked_path = os.path.join(server.data_dir, "..", os.path.basename(server.data_dir) + ".acked")
            env = dict(os.environ, EP=server.endpoint, AK=harness.ACCESS_KEY, SK=harness.SECRET_KEY,
                       ACKED=acked_path, TEST_DIR=os.path.dirname(os.path.abspath(__file__)),
                       SLUICE_PYTHONPATH=sys.path[0])
            writer = subprocess.Popen([sys.executable, "-c", self.WRITER], env=env)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if os.path.exists(acked_path) and sum(1 for _ in open(acked_path)) >= 500:
                        break
                    time.sleep(0.05)
                server.kill9()
                writer.wait(timeout=120)
            finally:
                if writer.poll() is None:
                    writer.kill()
            lines = [line.split() for line in open(acked_path) if line.strip()]
            last_step, last_size = int(lines[-1][0]), int(lines[-1][1])
            self.assertGreaterEqual(last_step, 499)
            server.start()
            blob = s3.get_object(Bucket="logs", Key="crash/events")["Body"].read()
            self.assertGreaterEqual(len(blob), last_size, "an acknowledged append was lost")
            records = parse_records(blob)  # whole records only, each CRC checked
            self.assertGreaterEqual(len(records), last_step + 1)
            self.assertEqual(records, [event(s) for s in range(len(records))])
            # Writing goes on where the object ends.
            c = sluice.Client(endpoint=server.endpoint, access_key=harness.ACCESS_KEY,
                              secret_key=harness.SECRET_KEY)
            with c.open("s3://logs/crash/events", "ab") as f:
                f.write(tf_record(b"after restart"))
            self.assertEqual(parse_records(s3.get_object(Bucket="logs", Key="crash/events")["Body"].read())[-1],
                             b"after restart")
        finally:
            server.cleanup()


@unittest.skipUnless(harness.ceph_conf(), "runs on the RADOS backend (test_on_ceph.py)")
class AppendOnRadosTest(unittest.TestCase):
    """On RADOS gateways an append is refused with 501, never half-done or ignored, and a
    writer that falls back (sluice.tensorboard) still gets its file."""

    def test_append_is_501_and_changes_nothing(self):
        server = harness.Server().start()
        try:
            s3 = harness.boto3_client(server.endpoint)
            s3.create_bucket(Bucket="logs")
            s3.put_object(Bucket="logs", Key="log", Body=b"abc")

            def add(request, **kw):
                request.headers["x-amz-write-offset-bytes"] = "3"
            s3.meta.events.register("before-sign.s3.PutObject", add)
            with self.assertRaises(s3.exceptions.ClientError) as cm:
                s3.put_object(Bucket="logs", Key="log", Body=b"def")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)
            self.assertIn("storage backend", cm.exception.response["Error"]["Message"])
            s3.meta.events.unregister("before-sign.s3.PutObject", add)
            self.assertEqual(s3.get_object(Bucket="logs", Key="log")["Body"].read(), b"abc")
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
