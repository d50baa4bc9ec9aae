"""The shared client scenario (clients.py) with each client from Debian over plain HTTP:
boto3, the AWS CLI, s3cmd and rclone, one server for all. test_tls.py runs it over HTTPS;
test_jssdk.py runs the same steps with the JavaScript clients."""
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
        clients.check_client(self, name, self.server.endpoint, self.observer, f"scenario-{name}")

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
