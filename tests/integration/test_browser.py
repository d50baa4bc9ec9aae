"""A real browser (Debian's chromium, headless) against sluice: a page from another origin
uses CORS to PUT through a presigned URL (after a preflight), GET it back and read the
exposed ETag, upload a file with a POST form, and is refused by a bucket without CORS.
The page reports its results back to the origin that served it."""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

import harness

CHROMIUM = shutil.which("chromium")

PAGE = """<!doctype html><html><body><script>
const cfg = %s;
const results = {};
async function step(name, fn) {
  try { results[name] = await fn(); } catch (e) { results[name] = "error: " + e; }
}
(async () => {
  await step("put", async () => {
    const r = await fetch(cfg.put_url, { method: "PUT", body: "written by a browser",
                                         headers: { "Content-Type": "text/plain" } });
    return { status: r.status, etag: r.headers.get("ETag") };
  });
  await step("get", async () => {
    const r = await fetch(cfg.get_url);
    return { status: r.status, body: await r.text() };
  });
  await step("post", async () => {
    const fd = new FormData();
    for (const [k, v] of Object.entries(cfg.post.fields)) fd.append(k, v);
    fd.append("file", new Blob(["posted by a browser"], { type: "text/plain" }), "form.txt");
    const r = await fetch(cfg.post.url, { method: "POST", body: fd });
    return { status: r.status };
  });
  await step("no_cors", async () => {
    const r = await fetch(cfg.no_cors_url);
    return { status: r.status };
  });
  await fetch("/result", { method: "POST", body: JSON.stringify(results) });
})();
</script></body></html>"""


@unittest.skipIf(CHROMIUM is None, "chromium is not installed (scripts/install-deps.sh --test installs it)")
class BrowserTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server().start()
        self.s3 = harness.boto3_client(self.server.endpoint, config_args={"signature_version": "s3v4"})
        self.tmp = tempfile.mkdtemp(prefix="sluice-browser-")

    def tearDown(self):
        self.server.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve_page(self, state):
        got = {}
        done = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = state["page"].encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                got.update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()
                done.set()

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd, got, done

    def test_cross_origin_page(self):
        # compat: cors, post-object
        s3 = self.s3
        s3.create_bucket(Bucket="webapp")
        s3.create_bucket(Bucket="private")
        s3.put_object(Bucket="private", Key="x", Body=b"x")
        state = {"page": ""}
        httpd, got, done = self.serve_page(state)
        origin = f"http://127.0.0.1:{httpd.server_address[1]}"  # another port: another origin
        s3.put_bucket_cors(Bucket="webapp", CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": [origin], "AllowedMethods": ["GET", "PUT", "POST"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]})
        cfg = {
            "put_url": s3.generate_presigned_url("put_object", Params={"Bucket": "webapp", "Key": "page.txt",
                                                                       "ContentType": "text/plain"}, ExpiresIn=600),
            "get_url": s3.generate_presigned_url("get_object", Params={"Bucket": "webapp", "Key": "page.txt"}, ExpiresIn=600),
            "post": s3.generate_presigned_post("webapp", "forms/${filename}", ExpiresIn=600,
                                               Conditions=[["starts-with", "$key", "forms/"]]),
            "no_cors_url": s3.generate_presigned_url("get_object", Params={"Bucket": "private", "Key": "x"}, ExpiresIn=600),
        }
        state["page"] = PAGE % json.dumps(cfg)
        profile = os.path.join(self.tmp, "profile")
        log = open(os.path.join(self.tmp, "chromium.log"), "wb")
        self.addCleanup(log.close)
        browser = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
             origin + "/"],
            stdout=subprocess.DEVNULL, stderr=log)
        try:
            finished = done.wait(60)
        finally:
            browser.terminate()
            try:
                browser.wait(10)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()
            httpd.shutdown()
            httpd.server_close()
        if not finished:
            with open(os.path.join(self.tmp, "chromium.log"), "rb") as f:
                self.fail("the page never reported; chromium said:\n" + f.read().decode(errors="replace")[-3000:])
        self.assertEqual(got["put"]["status"], 200, got)
        self.assertRegex(got["put"]["etag"] or "", r'^"[0-9a-f]{32}"$', got)  # readable: exposed
        self.assertEqual(got["get"], {"status": 200, "body": "written by a browser"}, got)
        self.assertEqual(got["post"]["status"], 204, got)
        self.assertEqual(s3.get_object(Bucket="webapp", Key="forms/form.txt")["Body"].read(), b"posted by a browser")
        # Without a CORS rule the browser itself refuses to hand the response to the page.
        self.assertTrue(str(got["no_cors"]).startswith("error: TypeError"), got)


if __name__ == "__main__":
    unittest.main(verbosity=2)
