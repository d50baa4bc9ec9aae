#!/usr/bin/python3
"""The data-path scenarios of issue #5, against one sluice server, in one run:

loader: a PyTorch DataLoader (4 workers) over tar shards of ~100 KiB samples, read
    (a) from local files (the same shards, page cache warm) by the usual tar loader:
    Python's tarfile in stream mode, as WebDataset reads shards; (b) from the same local
    files by sluice.torch.ShardDataset (its own tar reader, no network: what the transport
    costs is the gap between this and (c)); (c) by ShardDataset from sluice, streaming and
    ranged; (d) by ShardDataset from nginx serving the shard files (the speed of light of
    an HTTP GET: what any server's transport costs on this machine); (e) by a map-style
    dataset doing one boto3 get_object per sample (how most users start). Samples per
    second, the whole epoch. Then cold rounds: before each epoch the page cache is dropped
    for the local shard files and for sluice's object files alike, as for a data set
    larger than memory, where both sides read the disk.
ckpt: save and load of a state_dict through sluice.torch, torch.save/torch.load on local
    disk, and boto3 upload_fileobj/download_fileobj (+ torch.load from the bytes).

usage: torch_bench.py ENDPOINT AK SK RESULTS.jsonl WORKDIR QUICK(0|1)
env: SLUICE_DATA, the server's --data directory (cold rounds; skipped without it);
     NGINX_URL and NGINX_ROOT, an nginx serving NGINX_ROOT (the nginx row; skipped without).
Appends {"kind": "torch", ...} lines to RESULTS."""
import io
import json
import os
import shutil
import sys
import tarfile
import time

endpoint, ak, sk, results, work, quick = sys.argv[1:7]
quick = quick == "1"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../build/release/python"))

import boto3  # noqa: E402
import torch  # noqa: E402
from botocore.config import Config  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

import sluice  # noqa: E402
import sluice.torch  # noqa: E402

TOTAL = (256 if quick else 2048) << 20       # bytes of samples
SAMPLE = 100 * 1024
PER_SHARD = 1000                             # ~100 MiB shards
CKPT = (128 if quick else 1024) << 20        # bytes of state_dict
WORKERS = 4
BATCH = 64

os.makedirs(work, exist_ok=True)
kw = dict(endpoint=endpoint, access_key=ak, secret_key=sk)
client = sluice.Client(**kw)
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                                         max_pool_connections=32))
try:
    client.create_bucket("torchbench")
except sluice.ClientError:
    pass


def record(**r):
    with open(results, "a") as f:
        f.write(json.dumps(dict(kind="torch", **r)) + "\n")
    print("TORCH " + " ".join(f"{k}={v}" for k, v in r.items()), flush=True)


# Shards: local files and the same bytes in sluice; also every sample as its own object
# for the boto3 baseline.
n_samples = TOTAL // SAMPLE
shard_dir = os.path.join(work, "shards")
os.makedirs(shard_dir, exist_ok=True)
urls, keys = [], []
for s in range((n_samples + PER_SHARD - 1) // PER_SHARD):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(s * PER_SHARD, min(n_samples, (s + 1) * PER_SHARD)):
            for ext, data in (("bin", os.urandom(SAMPLE - 16)), ("cls", str(i % 1000).encode())):
                info = tarfile.TarInfo(f"{i:08d}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            keys.append(f"samples/{i:08d}.bin")
    data = buf.getvalue()
    path = os.path.join(shard_dir, f"shard-{s:05d}.tar")
    with open(path, "wb") as f:
        f.write(data)
    urls.append(f"s3://torchbench/shards/shard-{s:05d}.tar")
    client.put(urls[-1], data)
# The per-sample objects for the boto3 loop (uploaded by the sluice CLI, fast).
sample_dir = os.path.join(work, "samples")
os.makedirs(sample_dir, exist_ok=True)
for s in range(len(urls)):
    with tarfile.open(os.path.join(shard_dir, f"shard-{s:05d}.tar")) as tar:
        for m in tar:
            if m.name.endswith(".bin"):
                with open(os.path.join(sample_dir, m.name), "wb") as f:
                    f.write(tar.extractfile(m).read())
bin_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../build/release/src/sluice")
os.system(f"AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID={ak} AWS_SECRET_ACCESS_KEY={sk} "
          f"{bin_path} cp -r -q {sample_dir} s3://torchbench/samples/")


def tarfile_samples(fileobj, url):
    """WebDataset's way: tarfile in stream mode, members grouped by basename."""
    current, key = None, None
    with tarfile.open(fileobj=fileobj, mode="r|") as tar:
        for m in tar:
            if not m.isfile():
                continue
            d, base = os.path.split(m.name)
            stem, dot, ext = base.partition(".")
            k = os.path.join(d, stem)
            if k != key:
                if current is not None:
                    yield current
                key, current = k, {"__key__": k, "__url__": url}
            current[ext if dot else ""] = tar.extractfile(m).read()
    if current is not None:
        yield current


class LocalShards(torch.utils.data.IterableDataset):
    """The same shards from local files through tarfile, split by worker like ShardDataset."""

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        w, n = (info.id, info.num_workers) if info else (0, 1)
        for path in sorted(os.listdir(shard_dir))[w::n]:
            with open(os.path.join(shard_dir, path), "rb") as f:
                yield from tarfile_samples(f, path)


class Boto3PerSample(Dataset):
    def __init__(self):
        self.s3 = None

    def __len__(self):
        return len(keys)

    def __getitem__(self, i):
        if self.s3 is None:  # one client per worker process
            self.s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                                   region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        return {"bin": self.s3.get_object(Bucket="torchbench", Key=keys[i])["Body"].read()}


def epoch(ds, shuffle=False):
    loader = DataLoader(ds, batch_size=BATCH, num_workers=WORKERS, collate_fn=lambda b: len(b),
                        shuffle=shuffle, persistent_workers=False)
    t0 = time.time()
    n = sum(loader)
    return n, time.time() - t0


def rate(name, ds, rep=0, scenario="loader", **kw2):
    n, secs = epoch(ds, **kw2)
    assert n == n_samples, (name, n, n_samples)
    record(scenario=scenario, target=name, rep=rep, samples=n, seconds=round(secs, 3),
           samples_per_s=round(n / secs, 1), mib_per_s=round(n * SAMPLE / secs / 2**20, 1))


def drop_cache(top):
    """Drops the page cache of every file under top (posix_fadvise DONTNEED: no root
    needed, unlike /proc/sys/vm/drop_caches). Returns how many files still have their last
    page cached (a probe that cannot start readahead past the end of the file)."""
    still = 0
    for d, _, names in os.walk(top):
        for name in names:
            fd = os.open(os.path.join(d, name), os.O_RDONLY)
            try:
                os.fsync(fd)  # a dirty page cannot be dropped
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                size = os.fstat(fd).st_size
                if size:
                    try:
                        os.preadv(fd, [bytearray(1)], size - 1, os.RWF_NOWAIT)
                        still += 1
                    except BlockingIOError:
                        pass
            finally:
                os.close(fd)
    return still


os.system("sync")
# Warm both sides alike: the local shards are in the page cache (just written), and the
# server's copies are read once. Large objects are written with direct I/O, so without
# this the first sluice epoch alone would read the disk.
for u in urls:
    with client.open(u, "rb", streaming=True) as f:
        while f.read(8 << 20):
            pass
# nginx serves the same shard files under the same URL paths, through a link to shard_dir.
nginx_url, nginx_root = os.environ.get("NGINX_URL"), os.environ.get("NGINX_ROOT")
nginx_link = None
if nginx_url and nginx_root:
    os.makedirs(os.path.join(nginx_root, "torchbench"), exist_ok=True)
    nginx_link = os.path.join(nginx_root, "torchbench", "shards")
    if os.path.lexists(nginx_link):
        os.unlink(nginx_link)
    os.symlink(shard_dir, nginx_link)
# Alternating epochs, so that the machine's drift hits every source alike; the report
# takes the median of each round's ratio.
for rep in range(1 if quick else 3):
    rate("local", LocalShards(), rep)
    rate("local-sharddataset", sluice.torch.ShardDataset(shard_dir, shuffle=False), rep)
    rate("sluice", sluice.torch.ShardDataset(urls, shuffle=False, client=kw, prefetch=2), rep)
    rate("sluice-ranged", sluice.torch.ShardDataset(urls, shuffle=False, client=kw, prefetch=2, reader="ranged"), rep)
    if nginx_link:
        rate("nginx", sluice.torch.ShardDataset(urls, shuffle=False, client=dict(kw, endpoint=nginx_url),
                                                prefetch=2), rep)
if nginx_link:
    os.unlink(nginx_link)
# Cold: every epoch starts with its copy of the shards out of the page cache. Five rounds:
# the disk of a shared VM is noisier than its memory.
server_objects = os.path.join(os.environ["SLUICE_DATA"], "objects") if os.environ.get("SLUICE_DATA") else None
if server_objects:
    for rep in range(1 if quick else 5):
        for name, where in (("local", shard_dir), ("local-sharddataset", shard_dir), ("sluice", server_objects)):
            ds = (LocalShards() if name == "local" else
                  sluice.torch.ShardDataset(shard_dir, shuffle=False) if name == "local-sharddataset" else
                  sluice.torch.ShardDataset(urls, shuffle=False, client=kw, prefetch=2))
            still = drop_cache(where)
            if still:
                print(f"TORCH warning: {still} files under {where} still cached after the drop", flush=True)
            rate(name, ds, rep, scenario="loader-cold")
rate("boto3", Boto3PerSample())

# Checkpoints: one big state_dict of float32 tensors.
state = {f"layer{i}": torch.randn(CKPT // 4 // 16) for i in range(16)}
local = os.path.join(work, "ckpt.pt")


def timed(fn):
    t0 = time.time()
    out = fn()
    return out, time.time() - t0


def ckpt_record(target, op, secs):
    record(scenario="ckpt", target=target, op=op, seconds=round(secs, 3), mib_per_s=round(CKPT / secs / 2**20, 1))


for rep in range(1 if quick else 2):
    _, t = timed(lambda: (torch.save(state, local), os.sync()))
    ckpt_record("local", "save", t)
    back, t = timed(lambda: torch.load(local))
    ckpt_record("local", "load", t)
    _, t = timed(lambda: sluice.torch.save(state, "s3://torchbench/ckpt/model.pt", client=kw))
    ckpt_record("sluice", "save", t)
    back, t = timed(lambda: sluice.torch.load("s3://torchbench/ckpt/model.pt", client=kw))
    assert torch.equal(back["layer0"], state["layer0"])
    ckpt_record("sluice", "load", t)

    def boto_save():
        buf = io.BytesIO()
        torch.save(state, buf)
        buf.seek(0)
        s3.upload_fileobj(buf, "torchbench", "ckpt/boto3.pt")

    def boto_load():
        buf = io.BytesIO()
        s3.download_fileobj("torchbench", "ckpt/boto3.pt", buf)
        buf.seek(0)
        return torch.load(buf)
    _, t = timed(boto_save)
    ckpt_record("boto3", "save", t)
    back, t = timed(boto_load)
    ckpt_record("boto3", "load", t)

shutil.rmtree(work, ignore_errors=True)
