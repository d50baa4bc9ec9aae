"""Event files written straight into S3 by appends, for tensorboardX and TensorBoard.

Both write an event file to s3:// by uploading the *whole* file again on every flush, so a
long run sends O(n^2) bytes (tensorboardX's S3RecordWriter.flush; TensorBoard's stub
GFile without an `append`). On a server that takes `x-amz-write-offset-bytes` (sluice, S3
Express One Zone) each flush can send only what is new. docs/training-logs.md has the
recipe; these two calls apply it:

    import sluice.tensorboard
    sluice.tensorboard.patch_tensorboardx()      # tensorboardX.SummaryWriter("s3://...")
    sluice.tensorboard.patch_tensorboard_stub()  # TensorBoard's compat gfile, S3FileSystem

Where the server refuses appends (501 NotImplemented, or 400 InvalidRequest from a store
that knows the header only for other buckets), the writers fall back to what the
libraries did before: the whole file, every time.
"""
import os

_FALLBACK_CODES = ("NotImplemented", "InvalidRequest", "InvalidArgument")


def _append_put(client, bucket, key, offset, data):
    """One PutObject with x-amz-write-offset-bytes, through boto3's ordinary request path
    (botocore before 1.35 has no WriteOffsetBytes parameter, so a hook adds the header)."""
    def add_offset(request, **kwargs):
        request.headers["x-amz-write-offset-bytes"] = str(offset)
    client.meta.events.register_first("before-sign.s3.PutObject", add_offset)
    try:
        client.put_object(Bucket=bucket, Key=key, Body=data)
    finally:
        client.meta.events.unregister("before-sign.s3.PutObject", add_offset)


def _refused(exc):
    return exc.response.get("Error", {}).get("Code") in _FALLBACK_CODES


class AppendingS3RecordWriter:
    """tensorboardX's record writer interface (write, flush, close) over appends: write()
    gathers, flush() sends what was gathered since the last flush at the object's end."""

    def __init__(self, path, client=None):
        import boto3
        bucket, _, key = path[len("s3://"):].partition("/")
        self.bucket, self.key = bucket, key
        self.client = client or boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT"))
        self.pending = bytearray()
        self.sent = bytearray()  # kept only after a fallback to whole uploads
        self.offset = 0
        self.appends = True
        self.closed = False

    def write(self, data):
        self.pending += data

    def flush(self):
        if not self.pending:
            return
        from botocore.exceptions import ClientError
        if self.appends:
            try:
                _append_put(self.client, self.bucket, self.key, self.offset, bytes(self.pending))
                self.offset += len(self.pending)
                self.pending.clear()
                return
            except ClientError as e:
                if not _refused(e):
                    raise
                self.appends = False
                if self.offset:  # what the appends wrote so far
                    self.sent = bytearray(self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read())
        self.sent += self.pending
        self.pending.clear()
        self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.sent))

    def close(self):
        if not self.closed:
            self.flush()
            self.closed = True

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def patch_tensorboardx():
    """Registers an appending writer for s3:// with tensorboardX's writer registry."""
    from tensorboardX import record_writer

    class Factory:
        def open(self, path):
            return AppendingS3RecordWriter(path)

        def directory_check(self, path):
            pass  # S3 needs no directories

    record_writer.register_writer_factory("s3", Factory())


def patch_tensorboard_stub():
    """Gives TensorBoard's stub S3FileSystem an `append`, which its GFile then uses for
    every write after the first instead of re-uploading the file on each flush."""
    from tensorboard.compat.tensorflow_stub.io import gfile

    def append(self, filename, file_content, binary_mode=False):
        import boto3
        from botocore.exceptions import ClientError
        client = boto3.client("s3", endpoint_url=self._s3_endpoint)
        bucket, key = self.bucket_and_path(filename)
        data = file_content if isinstance(file_content, bytes) else file_content.encode("utf-8")
        size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        try:
            _append_put(client, bucket, key, size, data)
        except ClientError as e:
            if not _refused(e):
                raise
            old = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            client.put_object(Bucket=bucket, Key=key, Body=old + data)

    gfile.S3FileSystem.append = append
