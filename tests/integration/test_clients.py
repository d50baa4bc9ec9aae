"""The shared client scenario (clients.py) with each client from Debian over plain HTTP:
boto3, the AWS CLI, s3cmd and rclone, one server for all. test_tls.py runs it over HTTPS;
test_jssdk.py runs the same steps with the JavaScript clients."""
import sys
import unittest

import clients
import harness


class SharedScenario(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.observer = harness.boto3_client(cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def check(self, name):
        tmp = clients.make_tmp(f"sluice-{name}-")
        try:
            client = clients.ADAPTERS[name](self.server.endpoint, tmp)
            skipped = clients.run_scenario(self, client, f"scenario-{name}", self.observer)
            for step, why in skipped.items():
                print(f"  {name}: {step}: not offered by the client ({why})", file=sys.stderr)
        finally:
            clients.remove_tmp(tmp)

    def test_boto3(self):
        self.check("boto3")

    def test_awscli(self):
        self.check("awscli")

    def test_s3cmd(self):
        self.check("s3cmd")

    def test_rclone(self):
        self.check("rclone")


if __name__ == "__main__":
    unittest.main(verbosity=2)
