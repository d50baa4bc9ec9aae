#!/usr/bin/python3
"""The existing integration scenarios against gateways on Ceph RADOS (issue #18): a
development cluster from scripts/ceph-dev.sh (its own state directory and a free monitor
port), then boto3's, the AWS CLI's and the shared client scenario (boto3, AWS CLI, s3cmd,
rclone), and the suites of MODULES below, with SLUICE_TEST_CEPH_CONF set, so that every
server the harness starts is a RADOS gateway in pools of its own. The same tests hold
against either backend; the few that reach into the local disk skip on RADOS, saying why.

Usage: test_on_ceph.py [MODULE...] (default: the modules below).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULES = ["test_boto3", "test_awscli", "test_clients", "test_versioning", "test_replication",
           "test_batch_get", "test_append", "test_tar_members", "test_fanout", "test_encryption"]


def main(modules):
    state = tempfile.mkdtemp(prefix="sluice-ceph-it-", dir="/tmp")
    env = dict(os.environ, CEPH_DEV_DIR=state, CEPH_DEV_PORT=str(free_port()), CEPH_DEV_OSD_GB="2")
    script = os.path.join(ROOT, "scripts", "ceph-dev.sh")
    try:
        up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, timeout=300)
        if up.returncode != 0:
            print(up.stdout, up.stderr, file=sys.stderr)
            return 1
        os.environ["SLUICE_TEST_CEPH_CONF"] = up.stdout.strip().split("=", 1)[1]
        suite = unittest.defaultTestLoader.loadTestsFromNames(modules)
        result = unittest.TextTestRunner(verbosity=2).run(suite)
        return 0 if result.wasSuccessful() and result.testsRun > 0 else 1
    finally:
        subprocess.run([script, "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or MODULES))
