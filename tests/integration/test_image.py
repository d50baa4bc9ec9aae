"""The container image deploy/Containerfile builds, run: buildah starts the image's default
command (only the listen address moved to loopback) as the image's unprivileged user, and
boto3 drives it. Every shared library the binary needs must be in the slim runtime stage.

Building the image takes about 15 minutes on 2 cores and fetches Debian's packages, so this
runs only with SLUICE_TEST_IMAGE=1 (scripts/test.sh passes it on): it then builds the image
with deploy/build-image.sh unless SLUICE_IMAGE names one that exists. Needs root."""
import json
import os
import subprocess
import time
import unittest
import urllib.request

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
IMAGE = os.environ.get("SLUICE_IMAGE", "localhost/sluice:dev")
ENV = dict(os.environ, STORAGE_DRIVER=os.environ.get("STORAGE_DRIVER", "vfs"))


def buildah(*args, timeout=300, check=True):
    r = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout, env=ENV)
    if check and r.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)}: {r.stderr}")
    return r


@unittest.skipUnless(os.environ.get("SLUICE_TEST_IMAGE") == "1",
                     "builds a container image (~15 min): set SLUICE_TEST_IMAGE=1")
class ImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        have = subprocess.run(["buildah", "inspect", "--type", "image", IMAGE], capture_output=True,
                              env=ENV).returncode == 0 if os.path.exists("/usr/bin/buildah") else False
        if not have:
            r = subprocess.run([os.path.join(ROOT, "deploy", "build-image.sh"), IMAGE],
                               capture_output=True, text=True, timeout=3600, env=ENV)
            if r.returncode != 0:
                raise RuntimeError("deploy/build-image.sh failed:\n" + r.stdout[-4000:] + r.stderr[-4000:])
        cls.config = json.loads(buildah("inspect", "--type", "image", IMAGE).stdout)
        cls.ctr = buildah("from", "--pull-never", IMAGE).stdout.strip()

    @classmethod
    def tearDownClass(cls):
        buildah("rm", cls.ctr, check=False)

    def test_image_defaults(self):
        cfg = self.config["OCIv1"]["config"]
        self.assertEqual(cfg["User"], "10001:10001")
        self.assertEqual(cfg["Entrypoint"], ["/usr/local/bin/sluice"])
        self.assertIn("/var/lib/sluice", cfg["Volumes"])
        self.assertIn("9000/tcp", cfg["ExposedPorts"])
        # The slim stage: no compiler, no headers.
        r = buildah("run", "--isolation", "chroot", self.ctr, "--", "sh", "-c",
                    "command -v c++ g++ cmake; ls /usr/include/rocksdb 2>/dev/null; id -u", check=False)
        self.assertEqual(r.stdout.split(), ["10001"], r.stdout + r.stderr)
        size = buildah("images", "--format", "{{.Size}}", IMAGE).stdout.strip()
        print(f"image {IMAGE}: {len(self.config['OCIv1']['rootfs']['diff_ids'])} layers, {size}")

    def test_default_command_serves(self):
        cfg = self.config["OCIv1"]["config"]
        cmd = [a if not a.startswith("0.0.0.0:") else None for a in cfg["Cmd"]]
        port = harness.free_port()
        cmd = [a if a is not None else f"127.0.0.1:{port}" for a in cmd]
        log = open(os.path.join(ROOT, "build", "image-test.log"), "wb")
        proc = subprocess.Popen(
            ["buildah", "run", "--isolation", "chroot", "--network", "host",
             "--env", "SLUICE_ROOT_ACCESS_KEY=" + harness.ACCESS_KEY,
             "--env", "SLUICE_ROOT_SECRET_KEY=" + harness.SECRET_KEY,
             self.ctr, "--", *cfg["Entrypoint"], *cmd], stdout=log, stderr=log, env=ENV)
        try:
            endpoint = f"http://127.0.0.1:{port}"
            deadline = time.time() + 60
            while True:
                self.assertIsNone(proc.poll(), open(log.name).read())
                try:
                    with urllib.request.urlopen(endpoint + "/ready", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                self.assertLess(time.time(), deadline, open(log.name).read())
                time.sleep(0.2)
            s3 = harness.boto3_client(endpoint)
            s3.create_bucket(Bucket="image")
            body = os.urandom(3 << 20)  # past the inline threshold: a data file on the volume
            s3.put_object(Bucket="image", Key="big", Body=body)
            self.assertEqual(s3.get_object(Bucket="image", Key="big")["Body"].read(), body)
            # The web console is compiled in: its page and script are served.
            with urllib.request.urlopen(endpoint + "/_sluice/console/", timeout=5) as r:
                self.assertIn(b"console.js", r.read())
            with urllib.request.urlopen(endpoint + "/_sluice/console/console.js", timeout=5) as r:
                self.assertGreater(len(r.read()), 10000)
        finally:
            proc.terminate()
            proc.wait(60)


if __name__ == "__main__":
    unittest.main(verbosity=2)
