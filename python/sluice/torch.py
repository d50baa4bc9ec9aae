"""PyTorch data loading and checkpoints straight from S3.

ShardDataset streams tar shards in the WebDataset layout (files sharing a basename form
one sample), one streaming GET per shard read in cache-sized pieces (or parallel ranged
reads for high-latency links), so a DataLoader reads from the store about as fast as from
local files. save()/load() stream checkpoints through multipart upload and parallel
ranged reads without a local copy.
"""
import os
import random
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor

import torch
from torch.utils.data import IterableDataset, get_worker_info

from . import Client, _RawReader, parse_url
from ._sluice import Reader as _Reader, Stream as _Stream

__all__ = ["ShardDataset", "save", "load"]

_clients = {}
_clients_lock = threading.Lock()


def _client(client):
    """One Client per process (DataLoader workers are processes): made on first use."""
    if client is not None and not isinstance(client, dict):
        return client
    key = (os.getpid(), tuple(sorted((client or {}).items())))
    with _clients_lock:
        if key not in _clients:
            _clients[key] = Client(**(client or {}))
        return _clients[key]


class _Views:
    """A file-like object whose read(n) returns zero-copy views of the fetched bytes:
    tarfile's stream reader joins every read into bytes of its own at once, so the
    sample's bytes are copied out once, as from a local file's read()."""

    def __init__(self, raw):
        self.read = raw.read_view


def _samples(fileobj, url):
    """Groups a tar stream's members into samples: 'dir/abc.jpg' and 'dir/abc.cls' are the
    fields 'jpg' and 'cls' of the sample with key 'dir/abc'."""
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


def _workers_of(batch):
    """The (rank, worker) of each sample in a batch: a list of sample dicts, or the
    default collate's dict of columns."""
    if isinstance(batch, dict):
        ranks, workers = batch["__worker__"]
        return list(zip((int(r) for r in ranks), (int(w) for w in workers)))
    return [tuple(int(x) for x in s["__worker__"]) for s in batch]


class ShardDataset(IterableDataset):
    """An IterableDataset over tar shards on S3.

    shards: a list of s3:// URLs, or one s3:// prefix whose *.tar objects are the shards.
    shuffle: shuffle the shard order each epoch (seeded by seed + epoch) and samples
        through a buffer of `shuffle_buffer`; False keeps the stored order.
    decode: optional function applied to each sample dict.
    prefetch: shards opened ahead of the one being read (their first part arrives in
        parallel while the current one is consumed).
    reader: how a shard's bytes are fetched. "stream" (the default): one GET per shard,
        read from the socket in `chunk`-byte pieces that stay in the CPU cache until the
        tar reader copies them out; TCP's window is the read-ahead, and the shards opened
        by `prefetch` have their first bytes waiting. The cheapest on a LAN. "ranged":
        parallel ranged GETs of `chunk` bytes, `read_ahead` of them in flight, which hides
        latency on a slow or distant link at some CPU cost.
    client: a sluice.Client, or the keyword arguments to make one in each worker.

    Work is split first across distributed ranks (torch.distributed, when initialised, or
    the rank/world_size arguments), then across DataLoader workers, by shard: each shard
    is read by exactly one worker of one rank per epoch, so no sample is lost or repeated.
    Call set_epoch(e) before each epoch. state_dict()/load_state_dict() resume mid-epoch:
    the state counts samples already delivered by each (rank, worker), and a restored
    iterator skips exactly those, in the same order.
    """

    def __init__(self, shards, shuffle=True, seed=0, shuffle_buffer=1000, decode=None, prefetch=2,
                 client=None, rank=None, world_size=None, reader="stream", chunk=None, read_ahead=4):
        super().__init__()
        self._client_spec = client if isinstance(client, dict) or client is None else None
        self._client_obj = None if isinstance(client, dict) or client is None else client
        if isinstance(shards, str):
            bucket, prefix = parse_url(shards)
            objs = _client(self._client_obj or self._client_spec).list(shards)
            shards = sorted(f"s3://{bucket}/{o['key']}" for o in objs if o["key"].endswith(".tar"))
            if not shards:
                raise ValueError(f"no .tar shards under {bucket}/{prefix}")
        self.shards = list(shards)
        self.shuffle, self.seed, self.shuffle_buffer = shuffle, seed, shuffle_buffer
        self.decode, self.prefetch = decode, prefetch
        if reader not in ("stream", "ranged"):
            raise ValueError(f"reader must be 'stream' or 'ranged', not {reader!r}")
        self.reader = reader
        self.chunk = max(4096, chunk or ((256 << 10) if reader == "stream" else (4 << 20)))
        self.read_ahead = max(1, read_ahead)
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._resume = {}
        self._delivered = {}

    def set_epoch(self, epoch):
        self.epoch = epoch
        self._resume = {}
        self._delivered = {}

    def tracked(self, loader):
        """Iterates `loader` (a DataLoader over this dataset), counting the samples each
        (rank, worker) delivered, so that state_dict() needs no arguments:

            for batch in ds.tracked(loader):
                train(batch)
                if step % 1000 == 0:
                    torch.save({"data": ds.state_dict(), ...}, ...)

        Works with list batches and with the default collate; the samples must keep
        their "__worker__" field (a decode function returning a dict that keeps it)."""
        for batch in loader:
            for w in _workers_of(batch):
                self._delivered[w] = self._delivered.get(w, 0) + 1
            yield batch

    def state_dict(self, delivered=None):
        """The state after `delivered[(rank, worker)]` samples came out of each worker this
        epoch; without it, the counts tracked() kept. load_state_dict() on a new dataset
        resumes right after those samples, in the same order."""
        if delivered is None:
            delivered = self._delivered
        return {"epoch": self.epoch, "delivered": {f"{r}:{w}": n for (r, w), n in delivered.items()}}

    def load_state_dict(self, state):
        self.epoch = state["epoch"]
        self._resume = {tuple(int(x) for x in k.split(":")): n for k, n in state["delivered"].items()}
        self._delivered = dict(self._resume)  # a later state_dict() counts from here

    def _rank(self):
        if self.rank is not None:
            return self.rank, self.world_size or 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def my_shards(self, worker=None, workers=None):
        """The shards this (rank, worker) reads this epoch, in order."""
        order = list(self.shards)
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(order)
        rank, world = self._rank()
        if worker is None:
            info = get_worker_info()
            worker, workers = (info.id, info.num_workers) if info else (0, 1)
        slot, slots = rank * workers + worker, world * workers
        return order[slot::slots]

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        rank, _ = self._rank()
        client = _client(self._client_obj or self._client_spec)
        shards = self.my_shards(worker, workers)
        rng = random.Random((self.seed + self.epoch) * 1_000_003 + rank * 1009 + worker)
        skip = self._resume.get((rank, worker), 0)

        def opener(url):
            bucket, key = parse_url(url)
            if self.reader == "stream":
                return _RawReader(_Stream(client._c, bucket, key, self.chunk))
            # A shard waiting its turn fetches one part; the one being read keeps
            # `read_ahead` in flight, so its bytes are never queued behind another's.
            return _RawReader(_Reader(client._c, bucket, key, self.chunk, self.chunk))

        def samples():
            with ThreadPoolExecutor(max_workers=max(1, self.prefetch)) as pool:
                pending = [pool.submit(opener, u) for u in shards[: self.prefetch + 1]]
                for i, url in enumerate(shards):
                    f = pending[i].result()
                    f.set_window(self.chunk * self.read_ahead)
                    nxt = i + self.prefetch + 1
                    if nxt < len(shards):
                        pending.append(pool.submit(opener, shards[nxt]))
                    with f:
                        yield from _samples(_Views(f), url)

        def shuffled(it):
            if not self.shuffle or self.shuffle_buffer <= 1:
                yield from it
                return
            buf = []
            for s in it:
                buf.append(s)
                if len(buf) >= self.shuffle_buffer:
                    yield buf.pop(rng.randrange(len(buf)))
            while buf:
                yield buf.pop(rng.randrange(len(buf)))

        n = 0
        for s in shuffled(samples()):
            n += 1
            if n <= skip:
                continue
            s["__worker__"] = (rank, worker)
            yield self.decode(s) if self.decode else s


def save(obj, url, client=None):
    """torch.save straight into S3 through a multipart upload: the serialised bytes stream
    out as they are produced (one part buffered per upload slot, never the whole file), and
    the object becomes visible only when the upload completes, so readers see the old
    checkpoint or the new one, never half of one."""
    c = _client(client)
    with c.open(url, "wb") as f:
        torch.save(obj, f)


def load(url, map_location=None, client=None, attempts=3, **kwargs):
    """torch.load from S3 with parallel ranged reads ahead of the reader. Every read is
    pinned to the ETag the load started with; if a save replaces the checkpoint midway,
    the load starts over on the new one rather than mixing the two."""
    c = _client(client)
    for attempt in range(attempts):
        etag = c.head(url)["etag"]
        try:
            with c.open(url, "rb") as f:
                return torch.load(f, map_location=map_location, **kwargs)
        except Exception:  # torch's zip reader may re-raise our error as another type
            if attempt + 1 == attempts or c.head(url)["etag"] == etag:
                raise
