"""PyTorch data loading and checkpoints straight from S3.

ShardDataset streams tar shards in the WebDataset layout (files sharing a basename form
one sample), one streaming GET per shard (or parallel ranged reads for high-latency
links), and parses them with one read per tar header and one per member, each member's
bytes going straight from the socket into the sample. save()/load() stream checkpoints
through multipart upload and parallel ranged reads without a local copy.
"""
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from . import Client, _RawReader, parse_url
from ._sluice import Reader as _Reader, Stream as _Stream, tar_header as _tar_header

__all__ = ["ShardDataset", "ShardMapDataset", "ObjectDataset", "save", "load"]

_clients = {}
_clients_lock = threading.Lock()


def _client(client):
    """One Client per process (DataLoader workers are processes): made on first use. A
    Client made in another process (the parent of a forked worker) is not used: its
    connections are the parent's, and two processes reading one socket mix their answers.
    The worker gets its own, with the same settings."""
    if client is not None and not isinstance(client, dict):
        if getattr(client, "_pid", os.getpid()) == os.getpid():
            return client
        client = client._spec
    key = (os.getpid(), tuple(sorted((client or {}).items())))
    with _clients_lock:
        if key not in _clients:
            _clients[key] = Client(**(client or {}))
        return _clients[key]


_REGULAR = (0x30, 0x00, 0x37)  # '0', v7's NUL, '7' (contiguous file)
_SKIPPED = (0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x56)  # links, devices, dirs, FIFOs, labels
_META = (0x78, 0x67, 0x4C, 0x4B)  # pax extended and global headers, GNU long name and link


def _pax(data, url):
    """The records of a pax extended header ("<len> <key>=<value>\n" each) as a dict."""
    out, i = {}, 0
    while i < len(data):
        sp = data.find(b" ", i)
        if sp < 0 or not data[i:sp].isdigit():
            break
        n = int(data[i:sp])
        if n <= 0 or i + n > len(data):
            raise ValueError(f"{url}: malformed pax header")
        key, eq, value = data[sp + 1:i + n - 1].partition(b"=")
        if eq:
            out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        i += n
    return out


def _members(read, url):
    """The regular files of a tar stream read through read(n), as (name, bytes): one call
    for a header (with the previous member's padding) and one for the data, which comes
    straight from the socket or the file into the bytes object the sample keeps. POSIX
    ustar, pax (path and size records) and GNU long names; the header checksum is checked,
    and a truncated member raises instead of yielding short data."""
    pad, long_name, pax, offset = 0, None, {}, 0
    while True:
        block = read(pad + 512)
        if len(block) < pad + 512:
            if len(block) <= pad:
                return  # the end, without the closing zero blocks: accepted, like tarfile
            raise ValueError(f"{url}: truncated tar header at byte {offset + pad}")
        offset += pad
        try:
            head = _tar_header(memoryview(block)[pad:] if pad else block)
        except ValueError as e:
            raise ValueError(f"{url}: {e} (the header at byte {offset})") from None
        if head is None:
            return
        name, size, kind = head
        offset += 512
        if kind in _META:
            data = read(size)
            if len(data) < size:
                raise ValueError(f"{url}: truncated tar member {name!r}")
            offset += size
            pad = -size % 512
            if kind == 0x78:  # 'x': pax records for the next member
                pax = _pax(data, url)
            elif kind == 0x4C:  # 'L': GNU long name of the next member
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue
        if kind not in _REGULAR and kind not in _SKIPPED:
            raise ValueError(f"{url}: unsupported tar member type {chr(kind)!r} ({name!r})")
        if long_name is not None:
            name, long_name = long_name, None
        if pax:
            name = pax.get("path", name)
            size = int(pax["size"]) if "size" in pax else size
            pax = {}
            if size < 0:
                raise ValueError(f"{url}: negative size in the pax header of {name!r}")
        data = read(size)
        if len(data) < size:
            raise ValueError(f"{url}: truncated tar member {name!r} ({len(data)} of {size} bytes)")
        offset += size
        pad = -size % 512
        if kind in _REGULAR:
            yield name, data


def _samples(read, url):
    """Groups a tar stream's members into samples: 'dir/abc.jpg' and 'dir/abc.cls' are the
    fields 'jpg' and 'cls' of the sample with key 'dir/abc'."""
    current, key = None, None
    for name, data in _members(read, url):
        d, _, base = name.rpartition("/")
        stem, dot, ext = base.partition(".")
        k = f"{d}/{stem}" if d else stem
        if k != key:
            if current is not None:
                yield current
            key, current = k, {"__key__": k, "__url__": url}
        current[ext if dot else ""] = data
    if current is not None:
        yield current


def _local_path(url):
    """The path of a local shard (a path or a file:// URL); None for an s3:// URL."""
    if url.startswith("s3://"):
        return None
    return url[len("file://"):] if url.startswith("file://") else url


def _workers_of(batch):
    """The (rank, worker) of each sample in a batch: a list of sample dicts, or the
    default collate's dict of columns."""
    if isinstance(batch, dict):
        ranks, workers = batch["__worker__"]
        return list(zip((int(r) for r in ranks), (int(w) for w in workers)))
    return [tuple(int(x) for x in s["__worker__"]) for s in batch]


class ShardDataset(IterableDataset):
    """An IterableDataset over tar shards on S3 (or in local files, for development and
    comparison: the same code reads both).

    shards: a list of s3:// URLs, or one s3:// prefix whose *.tar objects are the shards.
        Local files work the same way: a list of paths (or file:// URLs), or a directory,
        whose *.tar files (at any depth) are the shards.
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

    Each tar member is read with one call for its header and one for its data, which goes
    from the socket (or the file) straight into the bytes object the sample keeps: no
    Python-level read loop and no second copy. Headers are checksummed, and a truncated or
    corrupt shard raises ValueError naming it rather than yielding short samples.

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
        if isinstance(shards, str) and _local_path(shards) is not None:
            root = _local_path(shards)
            shards = sorted(os.path.join(d, f) for d, _, files in os.walk(root)
                            for f in files if f.endswith(".tar"))
            if not shards:
                raise ValueError(f"no .tar shards under {root}")
        elif isinstance(shards, str):
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
        shards = self.my_shards(worker, workers)
        rng = random.Random((self.seed + self.epoch) * 1_000_003 + rank * 1009 + worker)
        skip = self._resume.get((rank, worker), 0)

        def opener(url):
            path = _local_path(url)
            if path is not None:
                return open(path, "rb")
            bucket, key = parse_url(url)
            client = _client(self._client_obj or self._client_spec)
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
                    nxt = i + self.prefetch + 1
                    if nxt < len(shards):
                        pending.append(pool.submit(opener, shards[nxt]))
                    with f:
                        if isinstance(f, _RawReader):
                            f.set_window(self.chunk * self.read_ahead)
                            read = f._r.read  # the binding itself: one call per read
                        else:
                            read = f.read
                        yield from _samples(read, url)

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


class ObjectDataset(Dataset):
    """A map-style Dataset over many small objects (one sample each: images, token files,
    feature rows), read a batch at a time with sluice's BatchGet: a DataLoader with a
    batch_size asks for a whole batch at once (__getitems__), and the batch's objects come
    back in one request instead of one GET each (docs/batch-get.md). Shuffle with the
    DataLoader (shuffle=True or any sampler): any order, any batch, one request.

    objects: one s3:// prefix (listed once, keys in order), or a list of s3:// URLs of one
        bucket.
    decode: optional function of (key, bytes) -> sample; the default returns the bytes.
    client: a sluice.Client, or the keyword arguments to make one in each worker.
    max_batch: objects per request at most (a larger batch is split).
    """

    def __init__(self, objects, decode=None, client=None, max_batch=1000):
        super().__init__()
        self._client_spec = client if isinstance(client, dict) or client is None else None
        self._client_obj = None if isinstance(client, dict) or client is None else client
        c = _client(self._client_obj or self._client_spec)
        if isinstance(objects, str):
            bucket, prefix = parse_url(objects)
            keys = sorted(o["key"] for o in c.list(objects))
            if not keys:
                raise ValueError(f"no objects under s3://{bucket}/{prefix}")
        else:
            pairs = [parse_url(u) for u in objects]
            buckets = {b for b, _ in pairs}
            if len(buckets) != 1:
                raise ValueError("the objects of an ObjectDataset share one bucket")
            bucket, keys = buckets.pop(), [k for _, k in pairs]
        self.bucket, self.keys = bucket, keys
        self.decode = decode
        self.max_batch = max(1, max_batch)

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, i):
        return self.__getitems__([i])[0]

    def __getitems__(self, indices):
        c = _client(self._client_obj or self._client_spec)
        keys = [self.keys[i] for i in indices]
        out = []
        for at in range(0, len(keys), self.max_batch):
            out += c.get_batch(f"s3://{self.bucket}", keys[at:at + self.max_batch])
        if self.decode:
            return [self.decode(k, b) for k, b in zip(keys, out)]
        return out


class ShardMapDataset(Dataset):
    """A map-style Dataset over the samples of tar shards (WebDataset layout: the files
    sharing a basename form one sample), read by index: any sample of any shard, in any
    order, so a DataLoader's shuffle=True is a true global shuffle with no shuffle buffer
    and no whole-shard reads. The server keeps each shard's member table
    (docs/tar-members.md); it is listed once here, and a batch of samples
    (__getitems__) is one BatchGet naming their members.

    shards: an s3:// prefix (every object under it ending in .tar) or a list of s3:// URLs
        of tar objects of one bucket.
    decode: optional function of a sample dict -> sample; samples are dicts of field
        (extension) -> bytes, with "__key__" (the basename) and "__url__" (the shard).
    client: a sluice.Client, or the keyword arguments to make one in each worker.
    max_batch: members per request at most (a larger batch is split).
    """

    def __init__(self, shards, decode=None, client=None, max_batch=1000):
        super().__init__()
        self._client_spec = client if isinstance(client, dict) or client is None else None
        self._client_obj = None if isinstance(client, dict) or client is None else client
        c = _client(self._client_obj or self._client_spec)
        if isinstance(shards, str):
            bucket, prefix = parse_url(shards)
            keys = sorted(o["key"] for o in c.list(shards) if o["key"].endswith(".tar"))
            if not keys:
                raise ValueError(f"no .tar objects under s3://{bucket}/{prefix}")
        else:
            pairs = [parse_url(u) for u in shards]
            buckets = {b for b, _ in pairs}
            if len(buckets) != 1:
                raise ValueError("the shards of a ShardMapDataset share one bucket")
            bucket, keys = buckets.pop(), [k for _, k in pairs]
        self.bucket, self.shards = bucket, keys
        # One entry per sample: (shard index, key, ((field, member name), ...)).
        self.samples = []
        for si, key in enumerate(keys):
            fields = {}
            for name, _offset, _size in c.list_members(f"s3://{bucket}/{key}"):
                d, _, base = name.rpartition("/")
                stem, dot, ext = base.partition(".")
                fields.setdefault(f"{d}/{stem}" if d else stem, []).append((ext if dot else "", name))
            self.samples += [(si, k, tuple(f)) for k, f in fields.items()]
        self.decode = decode
        self.max_batch = max(1, max_batch)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.__getitems__([i])[0]

    def __getitems__(self, indices):
        c = _client(self._client_obj or self._client_spec)
        keys, members = [], []
        for i in indices:
            si, _, fields = self.samples[i]
            for _, name in fields:
                keys.append(self.shards[si])
                members.append(name)
        data = []
        for at in range(0, len(keys), self.max_batch):
            data += c.get_batch(f"s3://{self.bucket}", keys[at:at + self.max_batch],
                                members=members[at:at + self.max_batch])
        out, at = [], 0
        for i in indices:
            si, key, fields = self.samples[i]
            sample = {"__key__": key, "__url__": f"s3://{self.bucket}/{self.shards[si]}"}
            for field, _ in fields:
                sample[field] = data[at]
                at += 1
            out.append(self.decode(sample) if self.decode else sample)
        return out


def save(obj, url, client=None):
    """torch.save straight into S3 through a multipart upload: the serialised bytes stream
    out as they are produced (one part buffered per upload slot, never the whole file), and
    the object becomes visible only when the upload completes, so readers see the old
    checkpoint or the new one, never half of one."""
    c = _client(client)
    with c.open(url, "wb") as f:
        torch.save(obj, f)


def load(url, map_location=None, client=None, attempts=3, **kwargs):
    """torch.load from S3 through Client.open (one streaming GET on a LAN, parallel
    ranged reads ahead of the reader across a long round trip). Every read is
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
