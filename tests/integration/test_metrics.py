"""GET /metrics (docs/metrics.md): who may scrape it, that Prometheus's own linter accepts
the exposition, that the counts are exact, and that Debian's real Prometheus server scrapes
sluice during a short load and its query API returns the expected rates and latencies.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import requests

import harness

sys.path.insert(0, os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python")))
try:
    import sluice  # noqa: E402
except ImportError:
    sluice = None

TOKEN = "metrics-token-0123456789"


def scrape(endpoint, headers=None):
    return requests.get(endpoint + "/metrics", headers=headers or {}, timeout=30)


def samples(text):
    """{'name{labels}': value} for every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(extra_args=["--metrics-token", TOKEN]).start()
        cls.addClassCleanup(cls.server.cleanup)
        cls.s3 = harness.boto3_client(cls.server.endpoint)

    def admin(self, *args, stdin=None):
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        r = subprocess.run([self.server.bin, "admin", *args], input=stdin, capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_exposition_passes_promtool_and_carries_every_family(self):
        self.s3.create_bucket(Bucket="lint")
        self.s3.put_object(Bucket="lint", Key="k", Body=b"x" * 100)
        r = scrape(self.server.endpoint)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        lint = subprocess.run(["promtool", "check", "metrics"], input=r.text, capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)
        for family in ("sluice_requests_total", "sluice_request_duration_seconds_bucket",
                       "sluice_received_bytes_total", "sluice_sent_bytes_total", "sluice_requests_in_flight",
                       "sluice_bucket_requests_total", "sluice_connections_open",
                       "sluice_connections_accepted_total", "sluice_capacity_bytes",
                       "sluice_fsync_duration_seconds_bucket", "sluice_index_commit_duration_seconds_bucket",
                       "sluice_replication_objects_total", "sluice_lifecycle_passes_total",
                       "sluice_bucket_objects", "sluice_bucket_version_bytes", "sluice_bugs_total"):
            self.assertIn("\n" + family, r.text)
        s = samples(r.text)
        self.assertGreater(s['sluice_capacity_bytes{of="disk",kind="total"}'], 0)
        self.assertEqual(s["sluice_bugs_total"], 0)
        self.assertEqual(s["sluice_audit_failures_total"], 0)
        self.assertEqual(s["sluice_access_log_failures_total"], 0)  # the log is on, to stderr
        self.assertEqual(s["sluice_access_log_waits_total"], 0)
        self.assertGreater(s['sluice_index_commit_duration_seconds_count'], 0)
        self.assertGreater(s['sluice_fsync_duration_seconds_count{kind="file"}'], 0)
        self.assertEqual(s["sluice_requests_in_flight"], 1)  # the scrape itself

    def test_counts_are_exact(self):
        self.s3.create_bucket(Bucket="exact")
        before = samples(scrape(self.server.endpoint).text)
        for i in range(7):
            self.s3.put_object(Bucket="exact", Key=f"k{i}", Body=b"y" * 1000)
        for i in range(5):
            self.assertEqual(len(self.s3.get_object(Bucket="exact", Key=f"k{i}")["Body"].read()), 1000)
        for _ in range(3):
            with self.assertRaises(Exception):
                self.s3.get_object(Bucket="exact", Key="missing")
        after = samples(scrape(self.server.endpoint).text)

        def delta(name):
            return after.get(name, 0) - before.get(name, 0)
        self.assertEqual(delta('sluice_requests_total{op="PutObject",status="200"}'), 7)
        self.assertEqual(delta('sluice_requests_total{op="GetObject",status="200"}'), 5)
        self.assertEqual(delta('sluice_requests_total{op="GetObject",status="404"}'), 3)
        self.assertEqual(delta('sluice_errors_total{code="NoSuchKey"}'), 3)
        self.assertEqual(delta('sluice_request_duration_seconds_count{op="PutObject"}'), 7)
        self.assertEqual(delta('sluice_received_bytes_total{op="PutObject"}'), 7000)
        self.assertGreaterEqual(delta('sluice_sent_bytes_total{op="GetObject"}'), 5000)
        self.assertEqual(delta('sluice_bucket_requests_total{bucket="exact",class="2xx"}'), 12)
        self.assertEqual(delta('sluice_bucket_requests_total{bucket="exact",class="4xx"}'), 3)
        self.assertEqual(delta('sluice_bucket_received_bytes_total{bucket="exact"}'), 7000)
        # What the bucket holds, as the index keeps it with every write.
        self.assertEqual(after['sluice_bucket_objects{bucket="exact"}'], 7)
        self.assertEqual(after['sluice_bucket_object_bytes{bucket="exact"}'], 7000)
        self.s3.delete_object(Bucket="exact", Key="k0")
        usage = samples(scrape(self.server.endpoint).text)
        self.assertEqual(usage['sluice_bucket_objects{bucket="exact"}'], 6)
        self.assertEqual(usage['sluice_bucket_versions{bucket="exact"}'], 6)
        self.assertEqual(usage['sluice_bucket_version_bytes{bucket="exact"}'], 6000)
        # A histogram's buckets are cumulative and end at its count.
        self.assertEqual(after['sluice_request_duration_seconds_bucket{op="PutObject",le="+Inf"}'],
                         after['sluice_request_duration_seconds_count{op="PutObject"}'])

    def test_bucket_usage_subresource(self):
        """GET /BUCKET?usage: sluice's own, for anyone who may list the bucket."""
        import xml.etree.ElementTree as ET
        self.s3.create_bucket(Bucket="sized")
        self.s3.put_bucket_versioning(Bucket="sized", VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object(Bucket="sized", Key="a", Body=b"1" * 100)
        self.s3.put_object(Bucket="sized", Key="a", Body=b"2" * 300)  # the first is noncurrent
        self.s3.put_object(Bucket="sized", Key="b", Body=b"3" * 50)
        self.s3.delete_object(Bucket="sized", Key="b")  # a marker on top
        r = harness.signed_request(self.server.endpoint, "GET", "/sized?usage")
        self.assertEqual(r.status_code, 200, r.text)
        got = {e.tag.split("}")[-1]: e.text for e in ET.fromstring(r.content)}
        self.assertEqual(got, {"Bucket": "sized", "Objects": "1", "Bytes": "300", "Versions": "3",
                               "VersionBytes": "450"})
        # The CLI reads the same.
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        du = subprocess.run([self.server.bin, "du", "s3://sized"], env=env, capture_output=True, text=True,
                            timeout=60)
        self.assertEqual(du.returncode, 0, du.stderr)
        self.assertEqual(du.stdout, "1 objects, 300 bytes (current)\n3 versions, 450 bytes (stored, every version)\n")
        if sluice is not None:  # and the Python module
            c = sluice.Client(endpoint=self.server.endpoint, access_key=harness.ACCESS_KEY,
                              secret_key=harness.SECRET_KEY)
            self.assertEqual(c.bucket_usage("s3://sized"),
                             {"objects": 1, "bytes": 300, "versions": 3, "version_bytes": 450})
        self.assertEqual(harness.signed_request(self.server.endpoint, "PUT", "/sized?usage").status_code, 405)
        self.assertEqual(harness.signed_request(self.server.endpoint, "GET", "/nosuchbucket?usage").status_code, 404)
        # A user who may not list the bucket may not see its size either.
        self.admin("user", "add", "outsider")
        key = json.loads(self.admin("key", "create", "outsider"))
        r = harness.signed_request(self.server.endpoint, "GET", "/sized?usage", ak=key["access_key"],
                                   sk=key["secret_key"])
        self.assertEqual(r.status_code, 403)

    def test_bearer_token(self):
        self.assertEqual(scrape(self.server.endpoint, {"Authorization": "Bearer " + TOKEN}).status_code, 200)
        r = scrape(self.server.endpoint, {"Authorization": "Bearer wrong"})
        self.assertEqual(r.status_code, 403)
        self.assertIn("bearer token is wrong", r.text)

    def test_signed_requests_need_get_metrics(self):
        self.assertEqual(harness.signed_request(self.server.endpoint, "GET", "/metrics").status_code, 200)
        # A user with no right to it is refused; one allowed sluice:GetMetrics gets in.
        self.admin("user", "add", "watcher")
        key = json.loads(self.admin("key", "create", "watcher"))
        r = harness.signed_request(self.server.endpoint, "GET", "/metrics", ak=key["access_key"],
                                   sk=key["secret_key"])
        self.assertEqual(r.status_code, 403)
        self.assertIn("may not sluice:GetMetrics", r.text)
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "sluice:GetMetrics", "Resource": "*"}]}
        self.admin("policy", "set", "metrics-reader", "-", stdin=json.dumps(policy))
        self.admin("policy", "attach", "metrics-reader", "watcher")
        r = harness.signed_request(self.server.endpoint, "GET", "/metrics", ak=key["access_key"],
                                   sk=key["secret_key"])
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn("sluice_requests_total", r.text)
        # A bad signature is refused, not taken for an anonymous loopback scrape.
        r = harness.signed_request(self.server.endpoint, "GET", "/metrics", sk="not-the-secret-key")
        self.assertEqual(r.status_code, 403)

    def test_a_bucket_named_metrics_stays_reachable(self):
        self.s3.create_bucket(Bucket="metrics")
        self.s3.put_object(Bucket="metrics", Key="metrics", Body=b"an object")
        listed = self.s3.list_objects_v2(Bucket="metrics")  # GET /metrics?list-type=2
        self.assertEqual([o["Key"] for o in listed["Contents"]], ["metrics"])
        # Virtual-hosted style: /metrics on the bucket's host is its key "metrics".
        r = harness.signed_request(self.server.endpoint, "GET", "/metrics",
                                   headers={"Host": f"metrics.localhost:{self.server.port}"})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"an object")


class ClosedMetricsTest(unittest.TestCase):
    """--metrics-open none: nothing without credentials, even from this host."""

    def test_unsigned_scrape_refused_with_401(self):
        server = harness.Server(extra_args=["--metrics-open", "none"]).start()
        self.addCleanup(server.cleanup)
        r = scrape(server.endpoint)
        self.assertEqual(r.status_code, 401)
        self.assertIn("Bearer", r.headers.get("WWW-Authenticate", ""))
        self.assertEqual(scrape(server.endpoint, {"Authorization": "Bearer anything"}).status_code, 403)
        self.assertEqual(harness.signed_request(server.endpoint, "GET", "/metrics").status_code, 200)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(shutil.which("prometheus"), "Debian's prometheus is not installed")
class PrometheusScrapeTest(unittest.TestCase):
    """Debian's Prometheus server scrapes sluice every second, with the bearer token, during
    a short load; its query API then answers with what the load did."""

    def setUp(self):
        self.server = harness.Server(extra_args=["--metrics-token", TOKEN, "--metrics-open", "none"]).start()
        self.addCleanup(self.server.cleanup)
        self.dir = tempfile.mkdtemp(prefix="sluice-prom-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sluice
    authorization:
      credentials: {TOKEN}
    static_configs:
      - targets: ["127.0.0.1:{self.server.port}"]
""")
        self.prom_port = free_port()
        self.prom_log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.addCleanup(self.prom_log.close)
        self.prom = subprocess.Popen(
            ["prometheus", "--config.file", config, "--storage.tsdb.path", os.path.join(self.dir, "tsdb"),
             "--web.listen-address", f"127.0.0.1:{self.prom_port}", "--log.level", "warn"],
            stdout=self.prom_log, stderr=self.prom_log)
        self.addCleanup(self.stop_prometheus)
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(self.prom_url("/-/ready"), timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            self.assertIsNone(self.prom.poll(), "prometheus exited; see " + self.prom_log.name)
            self.assertLess(time.time(), deadline, "prometheus did not become ready")
            time.sleep(0.2)

    def stop_prometheus(self):
        self.prom.terminate()
        try:
            self.prom.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.prom.kill()
            self.prom.wait()

    def prom_url(self, path):
        return f"http://127.0.0.1:{self.prom_port}{path}"

    def query(self, expr):
        r = requests.get(self.prom_url("/api/v1/query?" + urllib.parse.urlencode({"query": expr})), timeout=10)
        r.raise_for_status()
        body = r.json()
        self.assertEqual(body["status"], "success", body)
        return body["data"]["result"]

    def wait_for(self, expr, ok, timeout=30):
        deadline = time.time() + timeout
        while True:
            result = self.query(expr)
            if result and ok(float(result[0]["value"][1])):
                return float(result[0]["value"][1])
            self.assertLess(time.time(), deadline, f"{expr}: {result}")
            time.sleep(0.5)

    def test_prometheus_scrapes_rates_and_latencies(self):
        s3 = harness.boto3_client(self.server.endpoint)
        s3.create_bucket(Bucket="scraped")
        s3.put_object(Bucket="scraped", Key="sample", Body=b"z" * 4096)
        # The target is up: the token admits Prometheus.
        self.wait_for('up{job="sluice"}', lambda v: v == 1)
        # A bounded load: GETs for 6 seconds (at most 20,000), counted here.
        gets, start = 0, time.time()
        while time.time() - start < 6 and gets < 20000:
            s3.get_object(Bucket="scraped", Key="sample")["Body"].read()
            gets += 1
        took = time.time() - start
        # Prometheus's last scrape holds every GET: the counter equals what was sent.
        self.wait_for('sluice_requests_total{op="GetObject",status="200"}', lambda v: v == gets)
        # The rate over the load is close to what the client measured (scrapes are 1 s apart).
        client_rate = gets / took
        rate = self.query('max_over_time(rate(sluice_requests_total{op="GetObject",status="200"}[3s])[30s:1s])')
        self.assertTrue(rate, "no rate")
        self.assertGreater(float(rate[0]["value"][1]), client_rate * 0.5)
        self.assertLess(float(rate[0]["value"][1]), client_rate * 2.0)
        # Bytes out: at least the bodies sent.
        sent = self.wait_for('sluice_bucket_sent_bytes_total{bucket="scraped"}', lambda v: v >= gets * 4096)
        self.assertGreaterEqual(sent, gets * 4096)
        # The 99th percentile of the full duration is a real latency: under a second here.
        p99 = self.query('histogram_quantile(0.99, sum by (le) '
                         '(increase(sluice_request_duration_seconds_bucket{op="GetObject"}[1m])))')
        self.assertTrue(p99, "no latency histogram")
        self.assertGreater(float(p99[0]["value"][1]), 0)
        self.assertLess(float(p99[0]["value"][1]), 1.0)
        # The error rate is zero, and the gauges are there.
        errors = self.query('sum(sluice_errors_total)')
        self.assertTrue(not errors or float(errors[0]["value"][1]) == 0, errors)
        self.wait_for('sluice_capacity_bytes{kind="free"}', lambda v: v > 0)
        self.wait_for('sluice_connections_accepted_total', lambda v: v >= 1)
        self.check_dashboard()

    def check_dashboard(self):
        """Every query of the Grafana dashboard parses in this Prometheus, and the panels on
        requests, latency, bytes and capacity have data after the load."""
        path = os.path.join(os.path.dirname(__file__), "../../deploy/grafana/sluice-dashboard.json")
        with open(path) as f:
            dash = json.load(f)
        with_data = set()
        for panel in dash["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$__rate_interval", "30s").replace("$instance", ".*")
                # A query over the last minute: the load ended seconds ago.
                if self.query(expr) or self.query(f"max_over_time(({expr})[1m:1s])"):
                    with_data.add(panel["title"])
        for title in ("Requests per second, by operation", "Latency p50 / p99, full duration, by operation",
                      "Bytes in and out", "Capacity used", "Capacity free",
                      "Busiest buckets (requests per second)", "fsync and index commit p99",
                      "Largest buckets (bytes stored, all versions)", "Largest buckets (current objects)"):
            self.assertIn(title, with_data)


if __name__ == "__main__":
    unittest.main()
