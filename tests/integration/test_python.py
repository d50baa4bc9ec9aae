"""The `sluice` Python module (pybind11) and sluice.torch against the real server: the
client's get/put/list/delete/open, multipart writes that appear whole or not at all,
checkpoints through torch.save/torch.load, and ShardDataset under a DataLoader with
several workers and ranks (nothing lost, nothing repeated, reshuffled per epoch,
resumable mid-epoch).  compat: python
"""
import io
import os
import shutil
import sys
import tarfile
import threading
import unittest

import harness

sys.path.insert(0, os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python")))
import sluice  # noqa: E402
import sluice.torch  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402


def make_shard(samples):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for key, fields in samples:
            for ext, data in fields.items():
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class PythonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.c = sluice.Client(endpoint=cls.server.endpoint, access_key=harness.ACCESS_KEY,
                              secret_key=harness.SECRET_KEY, part_size=5 << 20)
        cls.c.create_bucket("pyt")
        cls.kw = dict(endpoint=cls.server.endpoint, access_key=harness.ACCESS_KEY,
                      secret_key=harness.SECRET_KEY, part_size=5 << 20)
        # 12 shards of 25 samples: every sample id once.
        cls.ids = []
        for s in range(12):
            samples = []
            for i in range(25):
                sid = f"s{s:02d}-{i:03d}"
                cls.ids.append(sid)
                samples.append((f"train/{sid}", {"bin": os.urandom(1000 + i), "cls": str(i % 10).encode()}))
            cls.c.put(f"s3://pyt/shards/shard-{s:03d}.tar", make_shard(samples))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_client_basics(self):
        c = self.c
        c.put("s3://pyt/a/one.txt", b"hello")
        self.assertEqual(c.get("s3://pyt/a/one.txt"), b"hello")
        big = os.urandom(12 * 1024 * 1024 + 7)
        etag = c.put("s3://pyt/a/big.bin", big)
        self.assertTrue(etag.endswith("-3"), etag)
        self.assertEqual(c.get("s3://pyt/a/big.bin"), big)
        with c.open("s3://pyt/a/big.bin") as f:
            self.assertEqual(f.read(10), big[:10])
            f.seek(9 * 1024 * 1024)
            self.assertEqual(f.read(100), big[9 * 1024 * 1024:9 * 1024 * 1024 + 100])
            f.seek(-5, io.SEEK_END)
            self.assertEqual(f.read(), big[-5:])
        keys = [o["key"] for o in c.list("s3://pyt/a/")]
        self.assertEqual(keys, ["a/big.bin", "a/one.txt"])
        self.assertEqual(c.list("s3://pyt/", recursive=False)[0], {"prefix": "a/"})
        c.delete("s3://pyt/a/one.txt")
        with self.assertRaises(sluice.ClientError) as cm:
            c.get("s3://pyt/a/one.txt")
        self.assertEqual((cm.exception.http_status, cm.exception.code), (404, "NoSuchKey"))

    def test_streaming_read_resumes_where_it_stopped(self):
        big = os.urandom(24 * 1024 * 1024 + 3)
        self.c.put("s3://pyt/st/big.bin", big)
        # The raw stream, as ShardDataset reads it: views into its chunks, bytes, readinto.
        s = sluice._Stream(self.c._c, "pyt", "st/big.bin", 1 << 16)
        self.assertEqual(s.size, len(big))
        self.assertEqual(bytes(s.read_view(100)), big[:100])
        self.assertEqual(s.read(1 << 20), big[100:100 + (1 << 20)])
        buf = bytearray(5000)
        at = 100 + (1 << 20)
        self.assertEqual(s.readinto(buf), 5000)
        self.assertEqual(bytes(buf), big[at:at + 5000])
        self.assertEqual(s.tell(), at + 5000)
        # The server dies mid-answer and comes back: the read resumes at its position.
        self.server.kill9()
        self.server.start()
        rest = s.read()
        self.assertEqual(rest, big[at + 5000:])
        self.assertEqual(s.read(10), b"")
        # The same through open(streaming=True), with seeks.
        with self.c.open("s3://pyt/st/big.bin", streaming=True) as f:
            self.assertEqual(f.read(10), big[:10])
            f.seek(20 << 20)
            self.assertEqual(f.read(100), big[20 << 20:(20 << 20) + 100])
        # An object replaced while its reader was cut off fails the read: never a mix.
        s = sluice._Stream(self.c._c, "pyt", "st/big.bin", 1 << 16)
        s.read(1 << 20)
        self.c.put("s3://pyt/st/big.bin", b"replaced")
        self.server.kill9()
        self.server.start()
        with self.assertRaises(sluice.ClientError) as cm:
            s.read()
        self.assertEqual(cm.exception.code, "PreconditionFailed")

    def test_open_chooses_streaming_on_a_short_round_trip(self):
        # The default reader (#21): one streaming GET when the kernel's round trip to the
        # endpoint is under 2 ms, as on loopback; parallel ranged reads when asked for.
        big = os.urandom(9 * 1024 * 1024 + 11)
        self.c.put("s3://pyt/way/big.bin", big)
        c = sluice.Client(**self.kw)  # fresh: no connection yet, so open() measures
        self.assertEqual(c._c.rtt_us(), 0)
        with c.open("s3://pyt/way/big.bin") as f:
            self.assertIsInstance(f.raw._r, sluice._Stream)
            self.assertIs(c._streaming, True)
            f.raw.set_window(1 << 20)  # nothing for a stream, and no error
            self.assertEqual(f.read(), big)
        c.head("s3://pyt/way/big.bin")  # leaves its connection idle in the pool
        self.assertGreater(c._c.rtt_us(), 0)
        self.assertLess(c._c.rtt_us(), 2000)
        for kw in ({"streaming": False}, {"window": 4 << 20}, {"read_part": 1 << 20}):
            with c.open("s3://pyt/way/big.bin", **kw) as f:
                self.assertIsInstance(f.raw._r, sluice._Reader, kw)
                buf = bytearray(1 << 20)
                got = bytearray()
                while n := f.readinto(buf):
                    got += buf[:n]
                self.assertEqual(bytes(got), big)
        with self.assertRaises(sluice.ClientError) as cm:
            sluice.Client(**self.kw).open("s3://pyt/way/missing.bin").read()
        self.assertEqual(cm.exception.code, "NoSuchKey")

    def test_pool_of_dead_connections_after_a_restart(self):
        # More idle keep-alive connections than the request has attempts, all closed by a
        # server restart: the first failure drops them all, and the request goes through
        # on a fresh connection.
        from concurrent.futures import ThreadPoolExecutor
        c = sluice.Client(**self.kw)
        c.put("s3://pyt/restart/obj", b"still here")
        with ThreadPoolExecutor(12) as pool:
            got = list(pool.map(lambda _: c.get("s3://pyt/restart/obj"), range(48)))
        self.assertEqual(set(got), {b"still here"})
        self.server.kill9()
        self.server.start()
        self.assertEqual(c.get("s3://pyt/restart/obj"), b"still here")
        c.put("s3://pyt/restart/obj2", b"and writes")  # a PUT after the restart, too
        self.assertEqual(c.get("s3://pyt/restart/obj2"), b"and writes")

    def test_write_appears_whole_or_not_at_all(self):
        data = os.urandom(11 * 1024 * 1024)
        with self.c.open("s3://pyt/w/ok.bin", "wb") as f:
            for i in range(0, len(data), 100_000):
                f.write(data[i:i + 100_000])
            with self.assertRaises(sluice.ClientError):
                self.c.head("s3://pyt/w/ok.bin")  # not visible before close
        self.assertEqual(self.c.get("s3://pyt/w/ok.bin"), data)
        with self.assertRaises(RuntimeError):
            with self.c.open("s3://pyt/w/broken.bin", "wb") as f:
                f.write(data)
                raise RuntimeError("the producer failed")
        with self.assertRaises(sluice.ClientError):
            self.c.head("s3://pyt/w/broken.bin")
        s3 = harness.boto3_client(self.server.endpoint)
        self.assertEqual(s3.list_multipart_uploads(Bucket="pyt").get("Uploads", []), [])

    def test_checkpoints(self):
        state = {"w": torch.randn(512, 1024), "b": torch.arange(10), "step": 7}
        sluice.torch.save(state, "s3://pyt/ckpt/model.pt", client=self.kw)
        back = sluice.torch.load("s3://pyt/ckpt/model.pt", client=self.kw)
        self.assertTrue(torch.equal(back["w"], state["w"]))
        self.assertEqual(back["step"], 7)
        # Saves are atomic: a reader racing a save sees the old checkpoint or the new one.
        newer = {"w": torch.zeros(512, 1024), "step": 8}
        seen, errors = [], []
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    seen.append(sluice.torch.load("s3://pyt/ckpt/model.pt", client=self.kw)["step"])
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)
        t = threading.Thread(target=reader)
        t.start()
        for _ in range(3):
            sluice.torch.save(newer, "s3://pyt/ckpt/model.pt", client=self.kw)
        stop.set()
        t.join()
        self.assertEqual(errors, [])
        self.assertTrue(seen and set(seen) <= {7, 8}, seen)

    def epoch_ids(self, ds, workers):
        out = []
        for batch in DataLoader(ds, batch_size=10, num_workers=workers, collate_fn=lambda b: b):
            out += [s["__key__"].split("/")[-1] for s in batch]
        return out

    def test_shard_dataset_split_shuffle_and_decode(self):
        seen = []
        for rank in range(2):
            ds = sluice.torch.ShardDataset("s3://pyt/shards/", seed=3, rank=rank, world_size=2,
                                           client=self.kw, decode=lambda s: dict(s, label=int(s["cls"])))
            got = self.epoch_ids(ds, workers=3)
            seen += got
        self.assertEqual(sorted(seen), sorted(self.ids))  # nothing lost, nothing repeated
        ds = sluice.torch.ShardDataset("s3://pyt/shards/", seed=3, client=self.kw, shuffle_buffer=50)
        e0 = self.epoch_ids(ds, workers=2)
        ds.set_epoch(1)
        e1 = self.epoch_ids(ds, workers=2)
        self.assertEqual(sorted(e0), sorted(self.ids))
        self.assertEqual(sorted(e1), sorted(self.ids))
        self.assertNotEqual(e0, e1)  # reshuffled
        ds.set_epoch(1)
        self.assertEqual(self.epoch_ids(ds, workers=2), e1)  # and reproducible
        sample = next(iter(sluice.torch.ShardDataset(["s3://pyt/shards/shard-000.tar"], shuffle=False, client=self.kw,
                                                     decode=lambda s: int(s["cls"]))))
        self.assertEqual(sample, 0)

    def test_shard_dataset_ranged_reader_and_bad_arguments(self):
        stream = [s["__key__"] for s in sluice.torch.ShardDataset("s3://pyt/shards/", seed=1, client=self.kw)]
        ranged = [s["__key__"] for s in sluice.torch.ShardDataset("s3://pyt/shards/", seed=1, client=self.kw,
                                                                 reader="ranged", chunk=8192, read_ahead=3)]
        self.assertEqual(stream, ranged)
        self.assertEqual(len(stream), len(self.ids))
        with self.assertRaises(ValueError):
            sluice.torch.ShardDataset("s3://pyt/shards/", client=self.kw, reader="mmap")
        with self.assertRaises(ValueError):
            sluice.torch.ShardDataset("s3://pyt/nothing-here/", client=self.kw)

    def test_shard_dataset_reads_a_snapshot(self):
        # compat: snapshots
        # A training run pins its data set; the source changes; the run reads the pinned one.
        import subprocess
        s3 = harness.boto3_client(self.server.endpoint)
        s3.create_bucket(Bucket="pinned-src")
        s3.put_bucket_versioning(Bucket="pinned-src", VersioningConfiguration={"Status": "Enabled"})
        ids = []
        for s in range(3):
            samples = [(f"x/p{s}-{i}", {"cls": b"1"}) for i in range(10)]
            ids += [k.split("/")[1] for k, _ in samples]
            self.c.put(f"s3://pinned-src/shards/shard-{s}.tar", make_shard(samples))
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        r = subprocess.run([self.server.bin, "snapshot", "create", "pinned-src", "run-0042"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.c.put("s3://pinned-src/shards/shard-0.tar", make_shard([("x/changed", {"cls": b"2"})]))
        self.c.put("s3://pinned-src/shards/shard-9.tar", make_shard([("x/added", {"cls": b"3"})]))
        ds = sluice.torch.ShardDataset("s3://run-0042/shards/", shuffle=False, client=self.kw)
        got = sorted(sample["__key__"].split("/")[-1] for sample in ds)
        self.assertEqual(got, sorted(ids))

    def test_tar_reader_matches_tarfile(self):
        # ShardDataset's tar reader against Python's tarfile, over every format tarfile
        # writes: long names (ustar prefix, GNU 'L', pax path), pax records, directories,
        # links, and sizes around the 512-byte block. Read from memory, from S3 (the
        # stream's direct and buffered reads) and from a local file.
        import random
        import tempfile
        rng = random.Random(7)
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
            for trial in range(8):
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
                    for i in range(rng.randrange(1, 14)):
                        depth = rng.choice([0, 1, 3] if fmt == tarfile.USTAR_FORMAT else [0, 1, 3, 9])
                        name = "/".join(f"d{'x' * rng.randrange(1, 30)}" for _ in range(depth))
                        name += ("/" if depth else "") + f"s{i}\u00e9.{rng.choice(['jpg', 'cls', 'txt.gz'])}"
                        kind = rng.random()
                        info = tarfile.TarInfo(name + ("-dir" if kind < 0.1 else "-lnk" if kind < 0.15 else ""))
                        if kind < 0.1:
                            info.type = tarfile.DIRTYPE
                            tar.addfile(info)
                        elif kind < 0.15:
                            info.type = tarfile.SYMTYPE
                            info.linkname = "t" * (150 if fmt != tarfile.USTAR_FORMAT else 20)
                            tar.addfile(info)
                        else:
                            data = os.urandom(rng.choice([0, 1, 511, 512, 513, 4095, 20000, 70000]))
                            info.size = len(data)
                            if fmt == tarfile.PAX_FORMAT and rng.random() < 0.3:
                                info.pax_headers = {"comment": "c" * rng.randrange(1, 300)}
                            tar.addfile(info, io.BytesIO(data))
                data = buf.getvalue()
                with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
                    want = [(m.name, tar.extractfile(m).read()) for m in tar if m.isfile()]
                self.assertEqual(list(sluice.torch._members(io.BytesIO(data).read, "mem")), want)
                self.c.put("s3://pyt/tars/t.tar", data)
                s = sluice._Stream(self.c._c, "pyt", "tars/t.tar", 1 << 16)
                self.assertEqual(list(sluice.torch._members(s.read, "s3")), want, (fmt, trial))
                path = os.path.join(tmp, "t.tar")
                with open(path, "wb") as f:
                    f.write(data)
                with open(path, "rb") as f:
                    self.assertEqual(list(sluice.torch._members(f.read, path)), want)
        # Corrupt and truncated shards fail, naming the shard, instead of yielding short data.
        good = make_shard([(f"k{i}", {"bin": b"z" * 1000}) for i in range(3)])
        bad = bytearray(good)
        bad[1536 + 5] ^= 1  # the second member's header
        for data, what in ((bytes(bad), "checksum"), (good[:600], "truncated tar member"),
                           (good[:1600], "truncated tar header"), (os.urandom(2048), "checksum")):
            self.c.put("s3://pyt/tars/bad.tar", data)
            with self.assertRaisesRegex(ValueError, "s3://pyt/tars/bad.tar.*" + what):
                list(sluice.torch.ShardDataset(["s3://pyt/tars/bad.tar"], client=self.kw))
        # Garbage header blocks: a tuple, None or ValueError, never a crash.
        for _ in range(2000):
            block = bytearray(os.urandom(512))
            if rng.random() < 0.5:  # a valid checksum over random fields
                block[148:156] = b" " * 8
                block[148:156] = b"%06o\0 " % sum(block)
            try:
                r = sluice._sluice.tar_header(bytes(block))
                self.assertTrue(r is None or (isinstance(r[0], str) and r[1] >= 0))
            except ValueError:
                pass
        with self.assertRaises(ValueError):
            sluice._sluice.tar_header(b"short")
        self.assertIsNone(sluice._sluice.tar_header(bytes(512)))

    def test_stream_small_and_large_reads(self):
        # The stream's reads of mixed sizes (buffered fills of 4 KiB and up, direct reads
        # into the result) return exactly the object's bytes, in order.
        import random
        rng = random.Random(3)
        big = os.urandom(3 * 1024 * 1024 + 17)
        self.c.put("s3://pyt/st/mixed.bin", big)
        for chunk in (4096, 1 << 16, 1 << 18):
            s = sluice._Stream(self.c._c, "pyt", "st/mixed.bin", chunk)
            got = []
            while True:
                n = rng.choice([1, 7, 512, 1024, 4000, 16384, 70000, 300000])
                b = s.read(n) if rng.random() < 0.8 else bytes(s.read_view(n))
                if not b:
                    break
                got.append(b)
            self.assertEqual(b"".join(got), big, chunk)

    def test_shard_dataset_local_files(self):
        # The same shards as local files: a directory, a list of paths, file:// URLs.
        import tempfile
        root, empty = tempfile.mkdtemp(), tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        self.addCleanup(shutil.rmtree, empty)
        os.makedirs(os.path.join(root, "sub"))
        for s in range(12):
            data = self.c.get(f"s3://pyt/shards/shard-{s:03d}.tar")
            with open(os.path.join(root, "sub" if s % 2 else "", f"shard-{s:03d}.tar"), "wb") as f:
                f.write(data)
        local = sluice.torch.ShardDataset(root, seed=3)
        self.assertEqual(len(local.shards), 12)
        self.assertEqual(sorted(self.epoch_ids(local, workers=3)), sorted(self.ids))
        paths = sorted(local.shards)
        one = list(sluice.torch.ShardDataset(["file://" + paths[0]], shuffle=False))
        self.assertEqual(len(one), 25)
        self.assertEqual(one[0]["bin"], list(sluice.torch.ShardDataset(
            [f"s3://pyt/shards/{os.path.basename(paths[0])}"], shuffle=False, client=self.kw))[0]["bin"])
        with self.assertRaisesRegex(ValueError, "no .tar shards"):
            sluice.torch.ShardDataset(empty)

    def test_shard_dataset_tracked_resume(self):
        # The training loop saves ds.state_dict() mid-epoch with no bookkeeping of its own;
        # a new dataset and loader pick up right after the batches already consumed.
        def run(ds, stop_after=None, collate=None):
            loader = DataLoader(ds, batch_size=10, num_workers=2, **({"collate_fn": collate} if collate else {}))
            keys, state = [], None
            for i, batch in enumerate(ds.tracked(loader)):
                keys += batch["__key__"] if isinstance(batch, dict) else [s["__key__"] for s in batch]
                if stop_after is not None and i + 1 == stop_after:
                    state = ds.state_dict()
                    break
            return keys, state
        for collate in (None, lambda b: b):  # the default collate, and lists of samples
            full, _ = run(sluice.torch.ShardDataset("s3://pyt/shards/", seed=9, client=self.kw), collate=collate)
            ds = sluice.torch.ShardDataset("s3://pyt/shards/", seed=9, client=self.kw)
            first, state = run(ds, stop_after=7, collate=collate)
            self.assertEqual(sum(state["delivered"].values()), 70)
            ds2 = sluice.torch.ShardDataset("s3://pyt/shards/", seed=9, client=self.kw)
            ds2.load_state_dict(state)
            rest, _ = run(ds2, collate=collate)
            self.assertEqual(sorted(first + rest), sorted(full))
            self.assertEqual(len(first + rest), len(self.ids))

    def test_shard_dataset_resumes_mid_epoch(self):
        ds = sluice.torch.ShardDataset("s3://pyt/shards/", seed=5, client=self.kw)
        ds.set_epoch(2)
        full = [s["__key__"] for s in ds]
        ds2 = sluice.torch.ShardDataset("s3://pyt/shards/", seed=5, client=self.kw)
        ds2.set_epoch(2)
        it = iter(ds2)
        first = [next(it)["__key__"] for _ in range(110)]
        state = ds2.state_dict({(0, 0): 110})
        ds3 = sluice.torch.ShardDataset("s3://pyt/shards/", seed=5, client=self.kw)
        ds3.load_state_dict(state)
        rest = [s["__key__"] for s in ds3]
        self.assertEqual(first + rest, full)


if __name__ == "__main__":
    unittest.main(verbosity=2)
