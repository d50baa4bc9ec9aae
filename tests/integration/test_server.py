"""Server lifecycle: generated root credential, restart, locks, draining on SIGTERM, logs."""
import os
import signal
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import shutil
import sys

import harness


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-life-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args, env=None, port=None):
        port = port or harness.free_port()
        e = dict(os.environ)
        e.pop("SLUICE_ROOT_ACCESS_KEY", None)
        e.pop("SLUICE_ROOT_SECRET_KEY", None)
        e.update(env or {})
        p = subprocess.Popen([os.environ.get("SLUICE_BIN", "../../build/src/sluice"), "server",
                              "--data", self.data, "--listen", f"127.0.0.1:{port}", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        return p, port

    def wait_healthy(self, port):
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.fail("not healthy")

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        return p.returncode, out, err

    def test_ready_reports_a_full_disk_and_recovers(self):
        # /ready: 200 while the index answers and new data can be written; on a full disk
        # 503 with the reason, and 200 again once space is freed, without a restart. The
        # data directory is a small tmpfs made here (skipped, saying why, where this
        # machine cannot mount one).
        os.makedirs(self.data)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", self.data],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        try:
            p, port = self.start()
            try:
                self.wait_healthy(port)
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as resp:
                    self.assertEqual((resp.status, resp.read()), (200, b"ready\n"))
                filler = os.path.join(self.data, "filler")
                with open(filler, "wb") as f:  # fill the file system to the last block
                    try:
                        while True:
                            f.write(b"\0" * (1 << 16))
                            f.flush()
                    except OSError:
                        pass
                with self.assertRaises(urllib.error.HTTPError) as cm:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5)
                self.assertEqual(cm.exception.code, 503)
                reason = cm.exception.read().decode()
                self.assertIn("new data cannot be written", reason)
                self.assertEqual(cm.exception.headers["Retry-After"], "5")
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                    self.assertEqual(resp.status, 200, "liveness is not readiness")
                os.remove(filler)
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as resp:
                    self.assertEqual(resp.status, 200)
            finally:
                self.stop(p)
        finally:
            subprocess.run(["umount", self.data], capture_output=True)

    def test_generated_credential_is_kept_and_private(self):
        p, port = self.start()
        self.wait_healthy(port)
        rc, out, err = self.stop(p)
        self.assertEqual(rc, 0)
        self.assertIn(f"http://127.0.0.1:{port}", out)
        self.assertIn("generated", out)
        creds = os.path.join(self.data, "root-credentials")
        self.assertEqual(stat.S_IMODE(os.stat(creds).st_mode), 0o600)
        ak, sk = open(creds).read().split()
        self.assertIn(ak, out)
        self.assertIn(sk, out)
        self.assertIn("started", err)
        self.assertIn("stopped cleanly", err)
        # A restart keeps the generated credential, and it signs requests.
        p, port = self.start()
        self.wait_healthy(port)
        s3 = harness.boto3_client(f"http://127.0.0.1:{port}", ak=ak, sk=sk)
        self.assertEqual(s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"], 200)
        rc, out2, _ = self.stop(p)
        self.assertIn(ak, out2)

    def test_a_repeated_option_takes_the_last(self):
        # scripts/run.sh passes --data and --listen first; the user's own come after them.
        other = harness.free_port()
        p, port = self.start("--listen", f"127.0.0.1:{other}")
        self.wait_healthy(other)
        rc, out, err = self.stop(p)
        self.assertEqual(rc, 0, err)
        self.assertIn(f"http://127.0.0.1:{other}", out)

    def test_every_thread_leaves_termination_signals_to_the_main_thread(self):
        # The main thread takes SIGTERM/SIGINT/SIGHUP with sigwait; a thread that does not
        # block them (the access log's writer once started before the mask) can be picked by
        # the kernel for a SIGTERM and the process dies by it: no drain, no flush. CI saw a
        # clean stop end by signal 15 that way. Read every thread's mask from /proc.
        if not os.path.isdir("/proc/self/task"):
            self.skipTest("no /proc/PID/task here to read thread signal masks from")
        p, port = self.start("--access-log", "-")  # the log's writer thread is running
        self.wait_healthy(port)
        try:
            tasks = os.listdir(f"/proc/{p.pid}/task")
            self.assertGreater(len(tasks), 2)
            unblocking = []
            for tid in tasks:
                if tid == str(p.pid):
                    continue  # the main thread: inside sigwait the kernel unblocks the set it waits for
                with open(f"/proc/{p.pid}/task/{tid}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                blocked = int(fields["SigBlk"].strip(), 16)
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    if not blocked & (1 << (sig - 1)):
                        unblocking.append((fields["Name"].strip(), tid, sig.name))
            self.assertEqual(unblocking, [], "threads that would take a termination signal")
        finally:
            rc, _, err = self.stop(p)
        self.assertEqual(rc, 0, err)
        self.assertIn("stopped cleanly", err)

    def test_environment_credential(self):
        p, port = self.start(env={"SLUICE_ROOT_ACCESS_KEY": "envkey", "SLUICE_ROOT_SECRET_KEY": "envsecret123"})
        self.wait_healthy(port)
        s3 = harness.boto3_client(f"http://127.0.0.1:{port}", ak="envkey", sk="envsecret123")
        s3.create_bucket(Bucket="envbucket")
        rc, out, err = self.stop(p)
        self.assertIn("envkey", out)
        self.assertIn("environment", out)
        self.assertIn('method=PUT bucket=envbucket key="" status=200', err)  # access log

    def test_a_clean_stop_keeps_every_access_log_line(self):
        # The access log is written off the request path, in 64 KiB pieces or every 200 ms
        # (docs/architecture.md): a clean stop must still write every line, one line per
        # request, and a key holding a newline must not split its line.
        log = os.path.join(self.dir, "access.log")
        p, port = self.start("--access-key", "ak1", "--secret-key", "secret123",
                             "--access-log", log)
        self.wait_healthy(port)
        s3 = harness.boto3_client(f"http://127.0.0.1:{port}", ak="ak1", sk="secret123")
        s3.create_bucket(Bucket="logbucket")
        keys = ["plain", "two\nlines", "tab\there"]
        for k in keys:
            s3.put_object(Bucket="logbucket", Key=k, Body=b"x")
        per_thread, threads, errors = 400, 4, []

        def load(t):
            c = harness.boto3_client(f"http://127.0.0.1:{port}", ak="ak1", sk="secret123")
            try:
                for i in range(per_thread):
                    c.head_object(Bucket="logbucket", Key=keys[(t + i) % len(keys)])
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        workers = [threading.Thread(target=load, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.assertEqual(errors, [])
        rc, _, err = self.stop(p)  # at once: most lines are still in the buffer
        self.assertEqual(rc, 0, err)
        with open(log, "rb") as f:
            lines = f.read().split(b"\n")
        self.assertEqual(lines[-1], b"", "the log ends with a whole line")
        ours = [l for l in lines if b" bucket=logbucket " in l]
        self.assertEqual(len(ours), 1 + len(keys) + per_thread * threads)
        self.assertEqual(sum(b"method=HEAD" in l for l in ours), per_thread * threads)
        for l in ours:
            self.assertRegex(l, rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} access method=")
        self.assertTrue(any(b'key="two\\x0alines"' in l for l in ours), ours[:5])
        self.assertTrue(any(b'key="tab\\x09here"' in l for l in ours), ours[:5])

    def test_sighup_reopens_the_logs_for_logrotate(self):
        # logrotate renames the files, then sends SIGHUP: lines and records from before it
        # stay in the renamed files, those after go to new files at the same paths.
        access, audit = os.path.join(self.dir, "access.log"), os.path.join(self.dir, "audit.log")
        p, port = self.start("--access-key", "ak1", "--secret-key", "secret123",
                             "--access-log", access, "--audit-log", audit)
        self.wait_healthy(port)
        s3 = harness.boto3_client(f"http://127.0.0.1:{port}", ak="ak1", sk="secret123")
        s3.create_bucket(Bucket="rotated-before")
        s3.delete_bucket(Bucket="rotated-before")  # audited
        time.sleep(0.5)  # the access log's writer hands lines over within 200 ms
        os.rename(access, access + ".1")
        os.rename(audit, audit + ".1")
        p.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while not (os.path.exists(access) and os.path.exists(audit)) and time.time() < deadline:
            time.sleep(0.05)
        s3.create_bucket(Bucket="rotated-after")
        s3.delete_bucket(Bucket="rotated-after")
        rc, _, err = self.stop(p)
        self.assertEqual(rc, 0, err)
        self.assertIn("reopened the access log", err)
        self.assertIn("reopened the audit log", err)
        for path in (access, audit):
            with open(path + ".1") as f:
                old = f.read()
            with open(path) as f:
                new = f.read()
            self.assertIn("rotated-before", old, path)
            self.assertNotIn("rotated-after", old, path)
            self.assertIn("rotated-after", new, path)
            self.assertNotIn("rotated-before", new, path)
        self.assertEqual(stat.S_IMODE(os.stat(audit).st_mode), 0o600)

    def test_one_server_per_directory_and_port(self):
        p, port = self.start("--access-key", "ak1", "--secret-key", "secret123")
        self.wait_healthy(port)
        q, _ = self.start("--access-key", "ak1", "--secret-key", "secret123")
        _, qerr = q.communicate(timeout=30)
        self.assertNotEqual(q.returncode, 0)
        self.assertIn("locked", qerr)
        other = os.path.join(self.dir, "other")
        r = subprocess.run([os.environ.get("SLUICE_BIN", "../../build/src/sluice"), "server", "--data", other,
                            "--listen", f"127.0.0.1:{port}", "--access-key", "ak2", "--secret-key", "secret123"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Address already in use", r.stderr)
        self.stop(p)

    def test_sigterm_drains_an_inflight_download(self):
        p, port = self.start("--access-key", "ak1", "--secret-key", "secret123", "--no-access-log")
        self.wait_healthy(port)
        s3 = harness.boto3_client(f"http://127.0.0.1:{port}", ak="ak1", sk="secret123")
        s3.create_bucket(Bucket="drain")
        body = os.urandom(64 * 1024 * 1024)
        s3.put_object(Bucket="drain", Key="big", Body=body)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "drain", "Key": "big"})
        got = {}

        def slow_reader():
            with urllib.request.urlopen(url) as r:
                data = b""
                first = True
                while True:
                    chunk = r.read(1 << 20)
                    if first:
                        started.set()
                        first = False
                        time.sleep(0.5)  # SIGTERM arrives while the response is in flight
                    if not chunk:
                        break
                    data += chunk
                got["data"] = data

        started = threading.Event()
        t = threading.Thread(target=slow_reader)
        t.start()
        started.wait(10)
        rc, _, err = self.stop(p)
        t.join(30)
        self.assertEqual(rc, 0)
        self.assertEqual(got.get("data"), body)
        self.assertIn("draining", err)


class MemoryTest(unittest.TestCase):
    """A large single PUT and GET stream through bounded memory."""

    def test_512mib_put_and_get_in_bounded_memory(self):
        import http.client
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        server = harness.Server(extra_args=["--no-access-log"]).start()
        try:
            s3 = harness.boto3_client(server.endpoint)
            s3.create_bucket(Bucket="mem")
            size = 512 * 1024 * 1024
            chunk = os.urandom(1 << 20)
            url = f"{server.endpoint}/mem/big"
            req = AWSRequest(method="PUT", url=url, headers={
                "Host": f"127.0.0.1:{server.port}", "Content-Length": str(size),
                "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
            SigV4Auth(Credentials(harness.ACCESS_KEY, harness.SECRET_KEY), "s3", "us-east-1").add_auth(req)
            def rss():
                with open(f"/proc/{server.proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            return int(line.split()[1]) * 1024
                return 0

            idle = rss()
            peak = [0]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    with open(f"/proc/{server.proc.pid}/status") as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                peak[0] = max(peak[0], int(line.split()[1]) * 1024)
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                conn.putrequest("PUT", "/mem/big", skip_host=True, skip_accept_encoding=True)
                for k, v in req.headers.items():
                    conn.putheader(k, v)
                conn.endheaders()
                for _ in range(size // len(chunk)):
                    conn.send(chunk)
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200, resp.read())
                resp.read()
                got = 0
                body = s3.get_object(Bucket="mem", Key="big")["Body"]
                while True:
                    b = body.read(1 << 20)
                    if not b:
                        break
                    got += len(b)
                self.assertEqual(got, size)
            finally:
                stop.set()
                sampler.join()
            # The server's whole RSS (RocksDB's caches included) grows by far less than the
            # object. Growth, not the total: a sanitizer build starts near 200 MiB.
            grew = peak[0] - idle
            print(f"\npeak server RSS during a 512 MiB PUT + GET: {peak[0] >> 20} MiB "
                  f"({idle >> 20} MiB idle, +{grew >> 20} MiB)", file=sys.stderr)
            self.assertLess(grew, 96 * 1024 * 1024, f"peak RSS {peak[0] >> 20} MiB, idle {idle >> 20} MiB")
        finally:
            server.cleanup()


class StorageFaultTest(unittest.TestCase):
    """A data file the index names but the disk lost is a storage fault: 500 InternalError,
    logged, never the client's 404 NoSuchKey (which would say the key was deleted)."""

    def test_missing_data_is_an_internal_error(self):
        server = harness.Server().start()
        try:
            s3 = harness.boto3_client(server.endpoint)
            s3.create_bucket(Bucket="faults")
            s3.put_object(Bucket="faults", Key="big", Body=os.urandom(200000))  # file-backed
            s3.put_object(Bucket="faults", Key="other", Body=os.urandom(200000))
            objects = os.path.join(server.data_dir, "objects")
            files = sorted((os.path.getmtime(os.path.join(d, f)), os.path.join(d, f))
                           for d, _, fs in os.walk(objects) for f in fs)
            os.remove(files[0][1])  # the first object's data
            with self.assertRaises(s3.exceptions.ClientError) as cm:
                s3.get_object(Bucket="faults", Key="big")["Body"].read()
            err = cm.exception.response
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 500)
            self.assertEqual(err["Error"]["Code"], "InternalError")
            self.assertIn("missing from the store", err["Error"]["Message"])
            self.assertEqual(len(s3.get_object(Bucket="faults", Key="other")["Body"].read()), 200000)
            with open(server.log.name, "rb") as f:
                self.assertIn(b"missing from the store", f.read())
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
