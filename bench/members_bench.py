#!/usr/bin/python3
"""Random sample reads from tar shards, against the same samples as separate objects
(issue #21 item 3; docs/tar-members.md). Target: member reads >= 0.9x object reads.

The same samples are stored twice in one sluice: as one object each, and packed into tar
shards of --per-shard samples (which get member tables at PUT). Clients then read every
sample once, in one random order (a global shuffle), three ways each:
- `member`: one GET per sample: the object (a ranged GET of its known size, one request)
  against `?member=NAME` of its shard;
- `range`: the same object GETs against one ranged GET of the shard at the member's offset
  from the `?members` listing: what any S3 client can do;
- `batch`: one BatchGet per --batch samples (keys / `<Member>`s of shards), as
  sluice.torch.ObjectDataset and ShardMapDataset read.
Reports samples/s and the ratio shard/objects per way. --threads clients at once (the
DataLoader workers of one host). Both sides use the same client library (the sluice Python
module, its C++ client underneath), in the same run, on the same server.

With --ceph-conf FILE, sluice runs on that Ceph cluster (scripts/ceph-dev.sh up).

Usage: /usr/bin/python3 bench/members_bench.py [--count 8192] [--per-shard 1024]
       [--batch 256] [--threads 4] [--rounds 3] [--sizes 4096,65536] [--ceph-conf FILE]
"""
import argparse
import io
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build/release/python"))
import sluice  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batch_bench import free_port, timed, wait_port  # noqa: E402  (the same helpers)

AK, SK = "benchaccesskey", "benchsecretkey0123456789"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=8192)
    ap.add_argument("--per-shard", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="4096,65536")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/src/sluice"))
    ap.add_argument("--ceph-conf", help="run sluice on this Ceph cluster (scripts/ceph-dev.sh up) "
                    "rather than on its local store")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sluice-members-bench-")
    port = free_port()
    log = open(os.path.join(work, "server.log"), "wb")
    where = ["--data", os.path.join(work, "data")]
    if a.ceph_conf:  # a pool prefix of its own, so runs do not see each other's buckets
        where = ["--ceph-conf", a.ceph_conf, "--ceph-pool", f"membersbench{port}",
                 "--iam-key-file", os.path.join(work, "iam-key")]
    proc = subprocess.Popen([a.bin, "server", *where,
                             "--listen", f"127.0.0.1:{port}", "--access-key", AK, "--secret-key", SK],
                            stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    worst = None
    try:
        wait_port(port)
        c = sluice.Client(endpoint=endpoint, access_key=AK, secret_key=SK)
        c.create_bucket("samples")
        print(f"{a.count} samples in shards of {a.per_shard}, batches of {a.batch}, {a.threads} client "
              f"thread(s), {a.rounds} rounds; sluice at its defaults (access log on)")
        for size in (int(s) for s in a.sizes.split(",")):
            names = [f"{i:08d}.bin" for i in range(a.count)]
            where = {}  # sample -> (shard key, offset)
            for s0 in range(0, a.count, a.per_shard):
                buf = io.BytesIO()
                shard = f"s{size}/shards/{s0 // a.per_shard:05d}.tar"
                with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
                    for n in names[s0:s0 + a.per_shard]:
                        body = os.urandom(size)
                        c.put(f"s3://samples/s{size}/objects/{n}", body)
                        info = tarfile.TarInfo(n)
                        info.size = size
                        t.addfile(info, io.BytesIO(body))
                c.put(f"s3://samples/{shard}", buf.getvalue())
                for n, off, sz in c.list_members(f"s3://samples/{shard}"):
                    assert sz == size
                    where[n] = (shard, off)
            assert len(where) == a.count
            order = list(range(a.count))
            random.Random(size).shuffle(order)  # one global shuffle, the same for both sides
            clients = [sluice.Client(endpoint=endpoint, access_key=AK, secret_key=SK) for _ in range(a.threads)]
            mine = [order[i::a.threads] for i in range(a.threads)]

            def get_members(i):
                cl = clients[i]._c
                for j in mine[i]:
                    assert len(cl.get_member("samples", where[names[j]][0], names[j])) == size

            def range_objects(i):
                cl = clients[i]._c
                for j in mine[i]:
                    assert len(cl.read_range("samples", f"s{size}/objects/{names[j]}", 0, size, "")) == size

            def range_members(i):
                cl = clients[i]._c
                for j in mine[i]:
                    shard, off = where[names[j]]
                    assert len(cl.read_range("samples", shard, off, size, "")) == size

            def batch_objects(i):
                cl = clients[i]
                for b in range(0, len(mine[i]), a.batch):
                    keys = [f"s{size}/objects/{names[j]}" for j in mine[i][b:b + a.batch]]
                    got = cl.get_batch("s3://samples", keys)
                    assert len(got) == len(keys) and len(got[0]) == size

            def batch_members(i):
                cl = clients[i]
                for b in range(0, len(mine[i]), a.batch):
                    js = mine[i][b:b + a.batch]
                    got = cl.get_batch("s3://samples", [where[names[j]][0] for j in js],
                                       members=[names[j] for j in js])
                    assert len(got) == len(js) and len(got[0]) == size

            ways = (("member", range_objects, get_members), ("range", range_objects, range_members),
                    ("batch", batch_objects, batch_members))
            for rnd in range(a.rounds):
                line = f"  {size // 1024:3d} KiB round {rnd + 1}:"
                for name, objs, mems in ways:
                    ro = a.count / timed(a.threads, objs)
                    rm = a.count / timed(a.threads, mems)
                    worst = min(worst, rm / ro) if worst is not None else rm / ro
                    line += f"  {name}: objects {ro:6.0f}/s shard {rm:6.0f}/s = {rm / ro:4.2f}x"
                print(line, flush=True)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"lowest shard/objects ratio: {worst:.2f}x (target >= 0.9x)")


if __name__ == "__main__":
    sys.exit(main())
