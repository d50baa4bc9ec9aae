"""One scenario, many clients.

Every client (boto3, the AWS CLI, s3cmd, rclone; the JavaScript clients run the same steps in
js/) performs the same steps against the same server, through its own commands:

  buckets; put and get, small and multipart; a ranged GET; copy; a delimiter listing read
  in pages; delete; presigned GET and PUT; a conditional GET; and ODD_KEYS round-tripping.

An adapter raises NotOffered for a step the client itself has no command for (s3cmd has no
ranged GET, for instance); the scenario records that and the test prints it. Checks that
need more than the client offers (is this ETag a multipart one?) are made with boto3 as an
independent observer. An adapter works over HTTP or HTTPS: pass the test CA's path as ca.
"""
import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import harness

# Keys that have broken S3 servers and clients: spaces, '+', '%', '?', '#', emoji, a
# leading '/', a trailing space, '..', '//' and a key of the full 1,024 bytes.
ODD_KEYS = [
    "with space.txt",
    "plus+sign.txt",
    "percent%20literal%.txt",
    "question?mark.txt",
    "hash#tag.txt",
    "emoji-\U0001F600-\u00e9\u4e2d.txt",
    "/leading-slash.txt",
    "trailing-space.txt ",
    "a//double/slash.txt",
    "dots/../up.txt",
    "amp&eq=semi;colon.txt",
    ("k" * 200 + "/") * 4 + "k" * (1024 - 804),
]
assert len(ODD_KEYS[-1].encode()) == 1024


class NotOffered(Exception):
    """The client has no command for this step."""


def read(path):
    with open(path, "rb") as f:
        return f.read()


def _ssl_context(ca):
    return ssl.create_default_context(cafile=ca) if ca else None


def http_get(url, ca=None, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, context=_ssl_context(ca), timeout=60) as r:
        return r.status, r.read()


def http_put(url, data, ca=None):
    req = urllib.request.Request(url, data=data, method="PUT")
    with urllib.request.urlopen(req, context=_ssl_context(ca), timeout=60) as r:
        return r.status


class Client:
    name = "?"

    def __init__(self, endpoint, tmp, ca=None):
        self.endpoint = endpoint
        self.tmp = tmp
        self.ca = ca

    def run(self, argv, env=None, check=True, text=True):
        r = subprocess.run(argv, env=env, capture_output=True, text=text, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv[:6])} ... failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def file(self, name, data=None):
        path = os.path.join(self.tmp, name)
        if data is not None:
            with open(path, "wb") as f:
                f.write(data)
        return path


class Boto3(Client):
    name = "boto3"

    def __init__(self, endpoint, tmp, ca=None):
        super().__init__(endpoint, tmp, ca)
        from boto3.s3.transfer import TransferConfig
        kw = {"verify": ca} if ca else {}
        self.s3 = harness.boto3_client(endpoint, config_args={"signature_version": "s3v4"}, **kw)
        self.tc = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)

    def mb(self, b):
        self.s3.create_bucket(Bucket=b)

    def rb(self, b):
        self.s3.delete_bucket(Bucket=b)

    def put(self, b, key, path):
        self.s3.upload_file(path, b, key, Config=self.tc)

    def get(self, b, key, path):
        self.s3.download_file(b, key, path, Config=self.tc)

    def range(self, b, key, first, last):
        return self.s3.get_object(Bucket=b, Key=key, Range=f"bytes={first}-{last}")["Body"].read()

    def copy(self, b, src, dst):
        self.s3.copy_object(Bucket=b, Key=dst, CopySource={"Bucket": b, "Key": src})

    def list(self, b, prefix, delimiter, page):
        keys, prefixes = [], []
        for p in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=b, Prefix=prefix, Delimiter=delimiter, PaginationConfig={"PageSize": page}):
            keys += [o["Key"] for o in p.get("Contents", [])]
            prefixes += [c["Prefix"] for c in p.get("CommonPrefixes", [])]
        return keys, prefixes

    def delete(self, b, key):
        self.s3.delete_object(Bucket=b, Key=key)

    def presign_get(self, b, key):
        return self.s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=600)

    def presign_put(self, b, key):
        return self.s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": key}, ExpiresIn=600)

    def not_modified(self, b, key, etag):
        import botocore.exceptions
        try:
            self.s3.get_object(Bucket=b, Key=key, IfNoneMatch=etag)
            return False
        except botocore.exceptions.ClientError as e:
            if e.response["ResponseMetadata"]["HTTPStatusCode"] == 304:
                return True
            raise


class AwsCli(Client):
    name = "awscli"

    def __init__(self, endpoint, tmp, ca=None):
        super().__init__(endpoint, tmp, ca)
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                        AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, AWS_DEFAULT_REGION="us-east-1",
                        AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
        self.env.pop("AWS_CA_BUNDLE", None)

    def aws(self, *args, check=True):
        tls = ["--ca-bundle", self.ca] if self.ca else []
        return self.run(["aws", "--endpoint-url", self.endpoint, *tls, *args], env=self.env, check=check)

    def mb(self, b):
        self.aws("s3", "mb", f"s3://{b}")

    def rb(self, b):
        self.aws("s3", "rb", f"s3://{b}")

    def put(self, b, key, path):
        self.aws("s3", "cp", path, f"s3://{b}/{key}", "--no-progress")

    def get(self, b, key, path):
        self.aws("s3", "cp", f"s3://{b}/{key}", path, "--no-progress")

    def range(self, b, key, first, last):
        out = self.file("range.out")
        self.aws("s3api", "get-object", "--bucket", b, "--key", key, "--range", f"bytes={first}-{last}", out)
        return read(out)

    def copy(self, b, src, dst):
        self.aws("s3", "cp", f"s3://{b}/{src}", f"s3://{b}/{dst}", "--no-progress")

    def list(self, b, prefix, delimiter, page):
        r = json.loads(self.aws("s3api", "list-objects-v2", "--bucket", b, "--prefix", prefix,
                                "--delimiter", delimiter, "--page-size", str(page)).stdout or "{}")
        return ([o["Key"] for o in r.get("Contents", [])], [c["Prefix"] for c in r.get("CommonPrefixes", [])])

    def delete(self, b, key):
        self.aws("s3", "rm", f"s3://{b}/{key}")

    def presign_get(self, b, key):
        return self.aws("s3", "presign", f"s3://{b}/{key}").stdout.strip()

    def presign_put(self, b, key):
        raise NotOffered("aws s3 presign signs GET only")

    def not_modified(self, b, key, etag):
        r = self.aws("s3api", "get-object", "--bucket", b, "--key", key, "--if-none-match", etag,
                     self.file("cond.out"), check=False)
        if r.returncode == 0:
            return False
        if "304" in r.stderr or "Not Modified" in r.stderr:
            return True
        raise AssertionError(r.stderr)


class S3cmd(Client):
    name = "s3cmd"

    def __init__(self, endpoint, tmp, ca=None):
        super().__init__(endpoint, tmp, ca)
        hostport = endpoint.split("://", 1)[1]
        self.cfg = self.file("s3cfg", f"""[default]
access_key = {harness.ACCESS_KEY}
secret_key = {harness.SECRET_KEY}
host_base = {hostport}
host_bucket = {hostport}
use_https = {"True" if ca else "False"}
signurl_use_https = {"True" if ca else "False"}
ca_certs_file = {ca or ""}
check_ssl_certificate = True
signature_v2 = False
bucket_location = us-east-1
multipart_chunk_size_mb = 5
""".encode())

    def s3cmd(self, *args, check=True):
        return self.run(["s3cmd", "-c", self.cfg, "--no-progress", *args], check=check)

    def mb(self, b):
        self.s3cmd("mb", f"s3://{b}")

    def rb(self, b):
        self.s3cmd("rb", f"s3://{b}")

    def put(self, b, key, path):
        self.s3cmd("put", path, f"s3://{b}/{key}")

    def get(self, b, key, path):
        self.s3cmd("get", "--force", f"s3://{b}/{key}", path)

    def range(self, b, key, first, last):
        raise NotOffered("s3cmd has no ranged GET")

    def copy(self, b, src, dst):
        self.s3cmd("cp", f"s3://{b}/{src}", f"s3://{b}/{dst}")

    def list(self, b, prefix, delimiter, page):
        # s3cmd ls lists one level (a delimiter listing) and follows the pages itself; --limit
        # caps the total, not the page, so pagination is exercised only past 1,000 keys.
        keys, prefixes = [], []
        for line in self.s3cmd("ls", f"s3://{b}/{prefix}").stdout.splitlines():
            uri = line.split("s3://", 1)[1]
            name = uri.split("/", 1)[1]
            (prefixes if line.lstrip().startswith("DIR") else keys).append(name)
        return keys, prefixes

    def delete(self, b, key):
        self.s3cmd("del", f"s3://{b}/{key}")

    def presign_get(self, b, key):
        return self.s3cmd("signurl", f"s3://{b}/{key}", "+600").stdout.strip()

    def presign_put(self, b, key):
        raise NotOffered("s3cmd signurl signs GET only")

    def not_modified(self, b, key, etag):
        raise NotOffered("s3cmd has no conditional GET")


class Rclone(Client):
    name = "rclone"

    def __init__(self, endpoint, tmp, ca=None):
        super().__init__(endpoint, tmp, ca)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # rclone reads AWS_CA_BUNDLE
        self.env = dict(env, RCLONE_CONFIG="/dev/null", RCLONE_CONFIG_SL_TYPE="s3",
                        RCLONE_CONFIG_SL_PROVIDER="Other", RCLONE_CONFIG_SL_ACCESS_KEY_ID=harness.ACCESS_KEY,
                        RCLONE_CONFIG_SL_SECRET_ACCESS_KEY=harness.SECRET_KEY,
                        RCLONE_CONFIG_SL_ENDPOINT=endpoint, RCLONE_CONFIG_SL_REGION="us-east-1",
                        # Keys exactly as given: no substitution of characters rclone finds awkward.
                        RCLONE_CONFIG_SL_ENCODING="None")

    def rclone(self, *args, check=True):
        tls = ["--ca-cert", self.ca] if self.ca else []
        return self.run(["rclone", *tls, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", *args],
                        env=self.env, check=check)

    @staticmethod
    def check_key(key):
        if key.startswith("/") or "//" in key or "/../" in key:
            raise NotOffered("rclone paths cannot express a key with a leading '/', '//' or '/../'")

    def mb(self, b):
        self.rclone("mkdir", f"sl:{b}")

    def rb(self, b):
        self.rclone("rmdir", f"sl:{b}")

    def put(self, b, key, path):
        self.check_key(key)
        self.rclone("copyto", path, f"sl:{b}/{key}")

    def get(self, b, key, path):
        self.check_key(key)
        self.rclone("copyto", f"sl:{b}/{key}", path)

    def range(self, b, key, first, last):
        r = subprocess.run(["rclone", *(["--ca-cert", self.ca] if self.ca else []), "cat", "--offset", str(first),
                            "--count", str(last - first + 1), f"sl:{b}/{key}"], env=self.env,
                           capture_output=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode())
        return r.stdout

    def copy(self, b, src, dst):
        self.rclone("copyto", f"sl:{b}/{src}", f"sl:{b}/{dst}")  # a server-side copy

    def list(self, b, prefix, delimiter, page):
        # lsf without -R lists one level (a delimiter listing); --s3-list-chunk sets the page size.
        out = self.rclone("lsf", "--s3-list-chunk", str(page), f"sl:{b}/{prefix}").stdout.splitlines()
        return ([prefix + n for n in out if not n.endswith("/")], [prefix + n for n in out if n.endswith("/")])

    def delete(self, b, key):
        self.check_key(key)
        self.rclone("deletefile", f"sl:{b}/{key}")

    def presign_get(self, b, key):
        return self.rclone("link", "--expire", "10m", f"sl:{b}/{key}").stdout.strip()

    def presign_put(self, b, key):
        raise NotOffered("rclone link signs GET only")

    def not_modified(self, b, key, etag):
        raise NotOffered("rclone has no conditional GET")


ADAPTERS = {c.name: c for c in (Boto3, AwsCli, S3cmd, Rclone)}


def run_scenario(test, client, bucket, observer):
    """Runs every step as a subTest of test; returns the steps the client does not offer."""
    skipped = {}

    def step(name, fn):
        with test.subTest(client=client.name, step=name):
            try:
                fn()
            except NotOffered as e:
                skipped[name] = str(e)

    small = os.urandom(1000) + b"small"
    large = os.urandom(12 * 1024 * 1024 + 11)

    def buckets():
        # compat: create-bucket
        client.mb(bucket)
        observer.head_bucket(Bucket=bucket)

    def put_get_small():
        # compat: object-crud
        client.put(bucket, "small.bin", client.file("small.bin", small))
        back = client.file("small.back")
        client.get(bucket, "small.bin", back)
        test.assertEqual(read(back), small)

    def put_get_multipart():
        # compat: multipart
        client.put(bucket, "large.bin", client.file("large.bin", large))
        test.assertRegex(observer.head_object(Bucket=bucket, Key="large.bin")["ETag"], r'-\d+"$')
        back = client.file("large.back")
        client.get(bucket, "large.bin", back)
        test.assertTrue(read(back) == large, "multipart object differs")

    def ranged():
        # compat: range-get
        test.assertEqual(client.range(bucket, "large.bin", 5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 9),
                         large[5 * 1024 * 1024 - 10:5 * 1024 * 1024 + 10])

    def copy():
        # compat: copy-object
        client.copy(bucket, "small.bin", "copy.bin")
        test.assertEqual(observer.get_object(Bucket=bucket, Key="copy.bin")["Body"].read(), small)

    def listing():
        # compat: list-v2
        for k in ("dir/a", "dir/b", "dir/c", "dir/sub/x", "dir/sub2/y"):
            observer.put_object(Bucket=bucket, Key=k, Body=k.encode())
        keys, prefixes = client.list(bucket, "dir/", "/", 2)
        test.assertEqual(sorted(keys), ["dir/a", "dir/b", "dir/c"])
        test.assertEqual(sorted(prefixes), ["dir/sub/", "dir/sub2/"])

    def delete():
        client.delete(bucket, "copy.bin")
        with test.assertRaises(Exception):
            observer.head_object(Bucket=bucket, Key="copy.bin")

    def presigned_get():
        # compat: presigned
        test.assertEqual(http_get(client.presign_get(bucket, "small.bin"), client.ca)[1], small)

    def presigned_put():
        url = client.presign_put(bucket, "presigned-put.bin")
        test.assertEqual(http_put(url, b"put through a presigned URL", client.ca), 200)
        test.assertEqual(observer.get_object(Bucket=bucket, Key="presigned-put.bin")["Body"].read(),
                         b"put through a presigned URL")

    def conditional_get():
        # compat: conditional-get
        etag = observer.head_object(Bucket=bucket, Key="small.bin")["ETag"]
        test.assertTrue(client.not_modified(bucket, "small.bin", etag))
        test.assertFalse(client.not_modified(bucket, "small.bin", '"0123456789abcdef0123456789abcdef"'))

    def odd_keys():
        # compat: odd-keys
        offered = []
        for i, key in enumerate(ODD_KEYS):
            data = f"odd key {i}".encode()
            try:
                client.put(bucket, key, client.file("odd.in", data))
            except NotOffered as e:
                skipped.setdefault("odd keys (some)", str(e))
                continue
            offered.append(key)
            test.assertEqual(observer.get_object(Bucket=bucket, Key=key)["Body"].read(), data, repr(key))
            back = client.file("odd.back")
            client.get(bucket, key, back)
            test.assertEqual(read(back), data, repr(key))
        listed = set()
        for p in observer.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            listed |= {o["Key"] for o in p.get("Contents", [])}
        for key in offered:
            test.assertIn(key, listed)
            client.delete(bucket, key)
            with test.assertRaises(Exception, msg=repr(key)):
                observer.head_object(Bucket=bucket, Key=key)

    def cleanup():
        for p in observer.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in p.get("Contents", []):
                observer.delete_object(Bucket=bucket, Key=o["Key"])
        client.rb(bucket)
        with test.assertRaises(Exception):
            observer.head_bucket(Bucket=bucket)

    for name, fn in (("buckets", buckets), ("put/get small", put_get_small),
                     ("put/get multipart", put_get_multipart), ("range", ranged), ("copy", copy),
                     ("list delimiter+pages", listing), ("delete", delete), ("presigned GET", presigned_get),
                     ("presigned PUT", presigned_put), ("conditional GET", conditional_get),
                     ("odd keys", odd_keys), ("remove bucket", cleanup)):
        step(name, fn)
    return skipped


def check_client(test, name, endpoint, observer, bucket, ca=None):
    """Runs the scenario with one client in a scratch directory; prints what it does not offer."""
    tmp = make_tmp(f"sluice-{bucket}-")
    try:
        skipped = run_scenario(test, ADAPTERS[name](endpoint, tmp, ca=ca), bucket, observer)
        for step, why in skipped.items():
            print(f"  {bucket}: {step}: not offered by the client ({why})", file=sys.stderr)
    finally:
        remove_tmp(tmp)


def make_tmp(prefix):
    import tempfile
    return tempfile.mkdtemp(prefix=prefix)


def remove_tmp(path):
    shutil.rmtree(path, ignore_errors=True)
