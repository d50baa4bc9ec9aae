"""sluice: fast S3 access for training code.

    import sluice
    c = sluice.Client()                       # endpoint and keys: the AWS chain (env, ~/.aws)
    c.put("s3://data/a.bin", b"...")
    with c.open("s3://data/big.tar", "rb") as f:   # parallel ranged reads with read-ahead
        header = f.read(512)
    with c.open("s3://ckpt/model.pt", "wb") as f:  # a multipart upload, visible at close
        f.write(payload)

Errors raise sluice.ClientError, an IOError with .http_status (0 when no answer came) and
.code (S3's error code, e.g. "NoSuchKey").
Network calls release the GIL.
"""
import io
import os

from ._sluice import ClientError, Reader as _Reader, Stream as _Stream, Writer as _Writer, Client as _Client  # noqa: F401

__all__ = ["Client", "ClientError", "parse_url"]


def parse_url(url):
    """'s3://bucket/key' -> ('bucket', 'key')."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, key


class _RawReader(io.RawIOBase):
    def __init__(self, reader):
        self._r = reader

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, b):
        return self._r.readinto(b)

    def read(self, n=-1):
        return self._r.read(n)

    def readall(self):
        return self._r.read(-1)

    def read_view(self, n):
        """Up to n bytes (fewer at an internal part boundary, empty at the end) as a
        read-only buffer over the fetched data, without a copy; valid as long as it is
        referenced. For parsers that copy what they keep, e.g. tarfile's stream reader."""
        return self._r.read_view(n)

    def set_window(self, nbytes):
        """Fetch up to `nbytes` ahead of the reader (0: part_size × parallelism); nothing
        for a streaming reader, whose read-ahead is the TCP window."""
        if hasattr(self._r, "set_window"):
            self._r.set_window(nbytes)

    def tell(self):
        return self._r.tell()

    def seek(self, pos, whence=io.SEEK_SET):
        if whence == io.SEEK_CUR:
            pos += self._r.tell()
        elif whence == io.SEEK_END:
            pos += self._r.size
        self._r.seek(max(0, pos))
        return self._r.tell()

    @property
    def size(self):
        return self._r.size


class _RawWriter(io.RawIOBase):
    def __init__(self, writer):
        self._w = writer
        self._n = 0
        self.etag = None

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        self._w.write(data)
        self._n += len(data)
        return len(data)

    def tell(self):
        return self._n

    def close(self):
        if not self.closed:
            self.etag = self._w.close()
        super().close()

    def abort(self):
        if not self.closed:
            self._w.abort()
        io.RawIOBase.close(self)


class _WriteFile(io.BufferedWriter):
    """Buffered writes into a multipart upload: the object appears, whole, at close();
    leaving the `with` block by an exception abandons the upload and leaves nothing."""

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.raw.abort()
            return False
        self.close()
        return False


class _AppendFile(io.RawIOBase):
    """Appends to an object: write() gathers bytes, and each flush() sends what was
    gathered as one append (PUT with x-amz-write-offset-bytes), durable when flush()
    returns. So a writer that flushes after each record (an event-file writer) sends each
    byte once, however long the object grows. A flush also happens when `limit` bytes are
    pending, and at close()."""

    def __init__(self, client, bucket, key, limit):
        self._c, self._bucket, self._key = client, bucket, key
        self._limit = limit
        self._pending = bytearray()
        try:
            self._offset = client.head(bucket, key)["size"]
        except ClientError as e:
            if e.code != "NoSuchKey":
                raise
            self._offset = 0

    def writable(self):
        return True

    def write(self, b):
        if self.closed:
            raise ValueError("write to a closed file")
        self._pending += b
        n = len(memoryview(b).cast("B"))
        if len(self._pending) >= self._limit:
            self.flush()
        return n

    def flush(self):
        if self.closed:
            return
        if self._pending:
            self._offset = self._c.append(self._bucket, self._key, self._offset, bytes(self._pending))
            self._pending.clear()

    def tell(self):
        return self._offset + len(self._pending)

    def close(self):
        if not self.closed:
            try:
                self.flush()
            finally:
                super().close()


class Client:
    """A thread-safe client. Settings left empty come from the AWS chain: AWS_ENDPOINT_URL,
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, ~/.aws/*."""

    def __init__(self, endpoint="", access_key="", secret_key="", session_token="", region="",
                 profile="", part_size=8 << 20, parallelism=8, verify_tls=True, ca_file=""):
        self._c = _Client(endpoint, access_key, secret_key, session_token, region, profile,
                          part_size, parallelism, verify_tls, ca_file)
        # A forked process (a DataLoader worker) must not share the parent's connections:
        # sluice.torch makes it its own client from these settings.
        self._spec = dict(endpoint=endpoint, access_key=access_key, secret_key=secret_key,
                          session_token=session_token, region=region, profile=profile,
                          part_size=part_size, parallelism=parallelism, verify_tls=verify_tls,
                          ca_file=ca_file)
        self._pid = os.getpid()
        self._streaming = None  # open()'s default way to read, once measured

    @property
    def endpoint(self):
        return self._c.endpoint

    def get(self, url):
        return self._c.get(*parse_url(url))

    def put(self, url, data):
        """Stores bytes (multipart above the part size); returns the ETag."""
        return self._c.put(*parse_url(url), bytes(data))

    def head(self, url):
        return self._c.head(*parse_url(url))

    def get_batch(self, url, keys, ranges=None, versions=None, on_error="fail", members=None):
        """Many objects of one bucket in one request (sluice's BatchGet, docs/batch-get.md):
        `url` is s3://bucket (a prefix, if any, is put in front of every key); `keys` the
        keys, in the order wanted; `ranges` optional (start, end) byte ranges, inclusive,
        or None each; `versions` optional version ids; `members` optional names of members
        of tar objects (docs/tar-members.md), or None each, a range then being of the
        member. Returns a list of bytes in order. With on_error="fail" a missing or refused
        key raises ClientError naming it; with "entry" its place holds a ClientError (with
        .code and .http_status) instead."""
        if on_error not in ("fail", "entry"):
            raise ValueError("on_error is 'fail' or 'entry'")
        bucket, prefix = parse_url(url)
        keys = [prefix + k for k in keys]
        ranges = ranges or [None] * len(keys)
        versions = versions or [""] * len(keys)
        members = members or [None] * len(keys)
        if len(ranges) != len(keys) or len(versions) != len(keys) or len(members) != len(keys):
            raise ValueError("keys, ranges, versions and members differ in length")
        items = [(k, v or "", f"bytes={r[0]}-{r[1]}" if r else "", m or "")
                 for k, r, v, m in zip(keys, ranges, versions, members)]
        out = self._c.get_batch(bucket, items, on_error == "entry")
        for i, r in enumerate(out):
            if isinstance(r, tuple):  # an error entry: (code, message, status, key)
                e = ClientError(f"s3://{bucket}/{r[3]}: {r[0]}: {r[1]}")
                e.code, e.http_status = r[0], r[2]
                out[i] = e
        return out

    def list_members(self, url):
        """The member table of a tar object (docs/tar-members.md): (name, offset, size) of
        each regular file, in name order; offset is where its bytes start in the archive.
        ClientError InvalidRequest when the object is not a tar archive."""
        return self._c.list_members(*parse_url(url))

    def get_member(self, url, name):
        """The bytes of the member `name` of the tar object at `url`."""
        return self._c.get_member(*parse_url(url), name)

    def append(self, url, data, offset):
        """Appends bytes to the object, whose size must be `offset` (0 creates it); returns
        the new size. ClientError with code InvalidWriteOffset when the size differs."""
        bucket, key = parse_url(url)
        return self._c.append(bucket, key, offset, bytes(data))

    def delete(self, url):
        self._c.delete(*parse_url(url))

    def bucket_usage(self, url):
        """What s3://bucket holds, from the counts the server keeps exact with every write:
        {'objects', 'bytes'} of the current versions, {'versions', 'version_bytes'} of every
        stored version (delete markers excluded)."""
        bucket, key = parse_url(url)
        if key:
            raise ValueError("bucket_usage wants s3://BUCKET, not " + url)
        return self._c.bucket_usage(bucket)

    def list(self, url, recursive=True):
        """Objects under s3://bucket/prefix as dicts (key, size, etag, last_modified);
        with recursive=False, one level, common prefixes as {'prefix': ...}."""
        bucket, prefix = parse_url(url)
        return self._c.list(bucket, prefix, "" if recursive else "/")

    def download(self, url, path):
        return self._c.download(*parse_url(url), path)

    def upload(self, path, url):
        return self._c.upload(path, *parse_url(url))

    def create_bucket(self, bucket):
        self._c.create_bucket(bucket)

    def _prefer_streaming(self, bucket, key):
        # Decided once per client, from the kernel's round-trip time to the endpoint
        # (a HEAD of the object opens a connection when none is pooled yet).
        if self._streaming is None:
            if not self._c.rtt_us():
                self._c.head(bucket, key)
            self._streaming = self._c.prefer_streaming()
        return self._streaming

    def open(self, url, mode="rb", buffer_size=None, window=0, read_part=0, streaming=None):
        """A file object. "rb" reads one of two ways. Streaming: one GET read straight
        from the socket into the caller's buffer as the file is read, resumed where it
        stopped if the connection drops; seeks start a new ranged GET. Parallel: `window`
        bytes fetched ahead in parallel ranged GETs of `read_part` bytes (0: part_size ×
        parallelism, and part_size; set_window() changes the window later), which pays a
        second copy of every byte but wins when a round trip is long. streaming=None
        (the default) streams when the endpoint's round trip is under 2 ms (a LAN) and no
        window or read_part is given; True or False forces a way. "wb": a multipart upload, visible whole at
        close(). "ab": appends; each flush() sends the bytes written since as one append,
        durable when it returns (and so does close(), and a write that fills
        `buffer_size`, default part_size); the object is created when missing. Appends need
        an unversioned bucket."""
        bucket, key = parse_url(url)
        part = self._c.part_size
        if mode == "rb":
            if streaming is None:
                streaming = not window and not read_part and self._prefer_streaming(bucket, key)
            if streaming:
                return io.BufferedReader(_RawReader(_Stream(self._c, bucket, key)), buffer_size or (256 << 10))
            raw = _RawReader(_Reader(self._c, bucket, key, window, read_part))
            # buffer_size=0: the raw reader, whose read(n) copies straight out of the
            # fetched parts (one copy fewer than a BufferedReader; tarfile's 10 KiB
            # record reads need no second buffer).
            return raw if buffer_size == 0 else io.BufferedReader(raw, buffer_size or (1 << 20))
        if mode == "wb":
            return _WriteFile(_RawWriter(_Writer(self._c, bucket, key)), buffer_size or part)
        if mode == "ab":
            return _AppendFile(self._c, bucket, key, buffer_size or part)
        raise ValueError("mode must be 'rb', 'wb' or 'ab'")
