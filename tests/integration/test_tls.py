"""HTTPS: the shared client scenario (clients.py) over TLS with a CA made by the test, plain
HTTP sent to the TLS port, and a certificate reloaded on SIGHUP without dropping connections."""
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import clients
import harness


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=sluice test CA", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    return os.path.join(d, "ca.pem")


def make_cert(d, name, serial):
    """A server certificate for 127.0.0.1 and localhost, signed by the CA in d."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
            str(serial), "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="sluice-pki-")
        cls.ca = make_ca(cls.pki)
        first_cert, first_key = make_cert(cls.pki, "first", 1001)
        # The server reads these paths; the reload test replaces their contents.
        cls.cert, cls.key = os.path.join(cls.pki, "server.pem"), os.path.join(cls.pki, "server.key")
        shutil.copy(first_cert, cls.cert)
        shutil.copy(first_key, cls.key)
        cls.server = harness.Server(extra_args=["--tls-cert", cls.cert, "--tls-key", cls.key], ca=cls.ca).start()
        cls.observer = harness.boto3_client(cls.server.endpoint, verify=cls.ca)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.pki, ignore_errors=True)

    def scenario(self, name):
        clients.check_client(self, name, self.server.endpoint, self.observer, f"tls-{name}", ca=self.ca)

    def test_boto3_over_https(self):
        self.scenario("boto3")

    def test_awscli_over_https(self):
        self.scenario("awscli")

    def test_rclone_over_https(self):
        self.scenario("rclone")

    def test_s3cmd_over_https(self):
        self.scenario("s3cmd")

    def test_file_bodies_over_one_connection_slow_readers_and_cut_connections(self):
        # Bodies of a TLS record or more are written by SSL_write straight to the socket: whole and ranged, several on one keep-alive connection (the
        # connection's own write path is restored after each), to a reader slower than the
        # socket buffer, and to one that leaves mid-body while others are served.
        self.observer.create_bucket(Bucket="tlsfiles")
        bodies = {}
        # Inline bodies of a record and a bit (the head gathered into the first record) and
        # file bodies of every scale.
        for name, size in (("i", 16 * 1024), ("j", 20000), ("a", 100 * 1024 + 7),
                           ("b", 5 * 1024 * 1024 + 3), ("c", 33 * 1024 * 1024)):
            bodies[name] = os.urandom(size)
            self.observer.put_object(Bucket="tlsfiles", Key=name, Body=bodies[name])
        urls = {n: self.observer.generate_presigned_url("get_object", Params={"Bucket": "tlsfiles", "Key": n})
                for n in bodies}
        ctx = ssl.create_default_context(cafile=self.ca)
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=ctx, timeout=60)
        for rnd in range(2):
            for n, body in bodies.items():
                path = urls[n].split(str(self.server.port), 1)[1]
                conn.request("GET", path)
                r = conn.getresponse()
                self.assertEqual((r.status, r.read()), (200, body), n)
                conn.request("GET", path, headers={"Range": "bytes=7000-99999"})
                r = conn.getresponse()
                self.assertEqual((r.status, r.read()), (206, body[7000:100000]), n)
        conn.close()
        # A reader that pauses: 33 MiB fill the socket's buffers and the server waits for
        # room before it writes on.
        slow = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.server.port), timeout=60),
                               server_hostname="127.0.0.1")
        path = urls["c"].split(str(self.server.port), 1)[1]
        slow.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        got = b""
        time.sleep(1.0)
        while b"\r\n\r\n" not in got:
            got += slow.recv(65536)
        head, first = got.split(b"\r\n\r\n", 1)
        self.assertIn(b"200 OK", head)
        parts, have = [first], len(first)
        while have < len(bodies["c"]):
            chunk = slow.recv(1 << 20)
            self.assertTrue(chunk, "the connection ended before the body")
            parts.append(chunk)
            have += len(chunk)
        self.assertEqual(b"".join(parts), bodies["c"])
        slow.close()
        # A reader that leaves after the head; the server goes on serving the others.
        cut = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.server.port), timeout=60),
                              server_hostname="127.0.0.1")
        cut.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        cut.recv(1024)
        cut.close()
        got = self.observer.get_object(Bucket="tlsfiles", Key="b")["Body"].read()
        self.assertEqual(got, bodies["b"])

    def test_untrusted_certificate_is_refused_by_the_client(self):
        import urllib.error
        with self.assertRaises(urllib.error.URLError) as e:
            clients.http_get(self.server.endpoint + "/health", ca=None)
        self.assertIsInstance(e.exception.reason, ssl.SSLCertVerificationError)

    def test_plain_http_to_the_tls_port_gets_a_clear_error(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        self.assertTrue(got.startswith(b"HTTP/1.1 400 "), got[:80])
        self.assertIn(b"this port serves HTTPS", got)
        # The server is still fine afterwards.
        self.assertEqual(clients.http_get(self.server.endpoint + "/health", self.ca)[0], 200)

    def test_sighup_reloads_the_certificate_without_dropping_connections(self):
        # compat: tls
        ctx = ssl.create_default_context(cafile=self.ca)

        def serial(conn):
            return int(conn.sock.getpeercert()["serialNumber"], 16)

        old = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=ctx, timeout=10)
        old.request("GET", "/health")
        self.assertEqual(old.getresponse().read().strip(), b"ok")
        before = serial(old)
        second_cert, second_key = make_cert(self.pki, "second", before + 1)
        # A broken certificate first: the reload fails and the server keeps the old one.
        with open(self.cert, "w") as f:
            f.write("not a certificate")
        self.server.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        fresh = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=ctx, timeout=10)
        fresh.request("GET", "/health")
        self.assertEqual(fresh.getresponse().read().strip(), b"ok")
        self.assertEqual(serial(fresh), before)
        fresh.close()
        # Now the real replacement (key first, so no reload sees a mismatched pair for long).
        shutil.copy(second_key, self.key)
        shutil.copy(second_cert, self.cert)
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while True:
            fresh = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=ctx, timeout=10)
            fresh.request("GET", "/health")
            self.assertEqual(fresh.getresponse().read().strip(), b"ok")
            now = serial(fresh)
            fresh.close()
            if now == before + 1 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(now, before + 1)
        # The connection opened before the reload still works, on its old session.
        old.request("GET", "/health")
        self.assertEqual(old.getresponse().read().strip(), b"ok")
        self.assertEqual(serial(old), before)
        old.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
