"""Behind a load balancer: nginx from Debian in front of sluice, configured as README's
"Scale out" section configures it. With --trusted-proxy naming nginx, the client's own
address (X-Forwarded-For) is what bucket policies (aws:SourceIp) and the logs see; a
client cannot name another address for itself, and without the flag nobody's forwarding
headers are believed."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness

CLIENT = "127.0.0.2"  # the test's client: another loopback address than nginx's (127.0.0.1)


def get(port, path, source="127.0.0.1", headers=None):
    """An anonymous GET from `source`; (status, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class Nginx:
    def __init__(self, upstream_port):
        if not shutil.which("nginx"):
            raise unittest.SkipTest("nginx is not installed (scripts/install-deps.sh --test)")
        self.dir = tempfile.mkdtemp(prefix="sluice-nginx-")
        self.port = harness.free_port()
        d = self.dir
        conf = f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream sluice {{
        server 127.0.0.1:{upstream_port};
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        location / {{
            proxy_pass http://sluice;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-p", d, "-e", os.path.join(d, "error.log"),
                                      "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + self.proc.stderr.read().decode())
            try:
                get(self.port, "/health")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not come up")

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its workers
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def policy(allowed):
    """Anonymous reads of bucket pxb, only from the network `allowed`."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::pxb/*",
        "Condition": {"IpAddress": {"aws:SourceIp": allowed}}}]})


class BehindAProxy(unittest.TestCase):  # compat: proxy
    def start(self, *args):
        self.log = os.path.join(tempfile.mkdtemp(prefix="sluice-proxy-log-"), "access.log")
        self.server = harness.Server(extra_args=["--access-log", self.log, *args]).start()
        self.addCleanup(shutil.rmtree, os.path.dirname(self.log), True)
        self.addCleanup(self.server.cleanup)
        self.nginx = Nginx(self.server.port)
        self.addCleanup(self.nginx.stop)
        self.s3 = harness.boto3_client(self.server.endpoint)
        self.s3.create_bucket(Bucket="pxb")
        self.s3.put_object(Bucket="pxb", Key="k", Body=b"data")

    def access_lines(self):
        time.sleep(0.5)  # the access log's writer hands lines over within 200 ms
        with open(self.log) as f:
            return [l for l in f if "key=\"k\"" in l and "method=GET" in l]

    def test_the_client_behind_a_trusted_proxy_is_the_one_policies_see(self):
        self.start("--trusted-proxy", "127.0.0.1")
        self.s3.put_bucket_policy(Bucket="pxb", Policy=policy(CLIENT + "/32"))
        self.assertEqual(get(self.nginx.port, "/pxb/k", source=CLIENT), (200, b"data"))
        # The client names another address for itself: nginx appends the one it saw, and
        # that one, not a trusted proxy, is the client.
        status, _ = get(self.nginx.port, "/pxb/k", source=CLIENT,
                        headers={"X-Forwarded-For": "203.0.113.9"})
        self.assertEqual(status, 200)
        self.s3.put_bucket_policy(Bucket="pxb", Policy=policy("203.0.113.0/24"))
        status, _ = get(self.nginx.port, "/pxb/k", source=CLIENT,
                        headers={"X-Forwarded-For": "203.0.113.9"})
        self.assertEqual(status, 403, "a client's own X-Forwarded-For was believed")
        # Straight to sluice from an address that is not a trusted proxy: ignored too.
        status, _ = get(self.server.port, "/pxb/k", source=CLIENT,
                        headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"})
        self.assertEqual(status, 403)
        lines = self.access_lines()
        self.assertTrue(any(f"remote={CLIENT} " in l and " via=127.0.0.1" in l for l in lines),
                        lines)
        self.assertFalse(any("remote=203.0.113.9" in l for l in lines), lines)

    def test_without_the_flag_nobodys_forwarding_headers_are_believed(self):
        self.start()
        self.s3.put_bucket_policy(Bucket="pxb", Policy=policy(CLIENT + "/32"))
        # nginx is the peer, and its X-Forwarded-For is not believed: the policy sees nginx.
        status, _ = get(self.nginx.port, "/pxb/k", source=CLIENT)
        self.assertEqual(status, 403)
        self.assertEqual(get(self.server.port, "/pxb/k", source=CLIENT), (200, b"data"))
        lines = self.access_lines()
        self.assertFalse(any(" via=" in l for l in lines), lines)


if __name__ == "__main__":
    unittest.main()
