#!/usr/bin/python3
"""scripts/ceph-dev.sh: the development cluster the RADOS backend is tested on (issue #18).

Three memstore OSDs with pools of two copies: objects written with Ceph's own `rados` tool
read back whole, reads and writes go on with one OSD killed, `up` finds a running cluster
instead of starting another, and `down` leaves no daemon and no state behind. Uses its
own state directory and a free monitor port, so a developer's cluster is never touched.
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "ceph-dev.sh")


class CephDevTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-ceph-test-", dir="/tmp")
        self.env = dict(os.environ, CEPH_DEV_DIR=self.dir, CEPH_DEV_OSDS="3",
                        CEPH_DEV_STORE="memstore", CEPH_DEV_OSD_GB="1",
                        CEPH_DEV_PORT=str(free_port()))
        self.conf = os.path.join(self.dir, "ceph.conf")
        self.work = tempfile.mkdtemp(prefix="sluice-ceph-data-")

    def tearDown(self):
        subprocess.run([SCRIPT, "down"], env=self.env, capture_output=True, timeout=120)
        shutil.rmtree(self.work, ignore_errors=True)

    def ceph(self, *args, timeout=60):
        return subprocess.run(["ceph", "-c", self.conf, *args], capture_output=True, text=True,
                              timeout=timeout, check=True).stdout

    def rados(self, *args, timeout=60):
        return subprocess.run(["rados", "-c", self.conf, *args], capture_output=True,
                              timeout=timeout, check=True)

    def our_daemons(self):
        out = subprocess.run(["pgrep", "-f", self.conf], capture_output=True, text=True).stdout
        return [p for p in out.split() if p]

    def test_up_survives_an_osd_loss_and_down_cleans_up(self):
        t0 = time.time()
        up = subprocess.run([SCRIPT, "up"], env=self.env, capture_output=True, text=True, timeout=300)
        self.assertEqual(up.returncode, 0, up.stderr)
        self.assertIn(f"CEPH_CONF={self.conf}", up.stdout)
        print(f"\ncluster of 3 OSDs up in {time.time() - t0:.1f} s", flush=True)
        self.assertEqual(len(self.our_daemons()), 4)  # a monitor and three OSDs

        again = subprocess.run([SCRIPT, "up"], env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("already up", again.stderr)
        self.assertEqual(len(self.our_daemons()), 4)

        self.ceph("osd", "pool", "create", "t", "16")
        self.assertIn("size: 2", self.ceph("osd", "pool", "get", "t", "size"))
        src = os.path.join(self.work, "in.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + 7))
        self.rados("-p", "t", "put", "obj", src)

        with open(os.path.join(self.dir, "pids", "osd.1.pid")) as f:
            os.kill(int(f.read()), 9)
        back = os.path.join(self.work, "out.bin")
        self.rados("-p", "t", "get", "obj", back)
        with open(src, "rb") as a, open(back, "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.rados("-p", "t", "put", "obj2", src)  # writable with one copy down

        status = subprocess.run([SCRIPT, "status"], env=self.env, capture_output=True, text=True)
        self.assertNotEqual(status.returncode, 0)  # a recorded daemon is gone: not "up"

        down = subprocess.run([SCRIPT, "down"], env=self.env, capture_output=True, text=True, timeout=120)
        self.assertEqual(down.returncode, 0, down.stderr)
        for _ in range(50):
            if not self.our_daemons():
                break
            time.sleep(0.1)
        self.assertEqual(self.our_daemons(), [])
        self.assertFalse(os.path.exists(self.dir))

    def test_refuses_a_state_directory_outside_tmp(self):
        r = subprocess.run([SCRIPT, "up"], env=dict(self.env, CEPH_DEV_DIR="/var/lib/x"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("must be under /tmp/", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
