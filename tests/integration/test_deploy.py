"""deploy/: the plain Kubernetes manifests and the Helm chart, checked as far as a machine
without a cluster can (Debian 12 has neither helm nor a kubelet):

- the chart is rendered for several value sets by tools/helm-render (Go's text/template with
  sprig, the libraries Helm renders with), and bad values fail with their reason;
- every document, plain or rendered, is linted (yamllint), validated against the Kubernetes
  API's schemas (npm's kubernetes-models, and its prometheus-operator models for the
  ServiceMonitor), and walked field by field against the Kubernetes Python client's models,
  so a misspelt field fails too (the schemas allow unknown fields; the API server drops them);
- the documents are checked against each other: selectors, port names, Secret keys, volume
  names, and every `sluice server` flag the pods pass exists;
- the pod's command line and environment, taken from the manifest, start the real binary,
  whose probes answer on the paths and port the manifest names, and which serves S3 with
  the credential the Secret gives (or, left empty, the one it generates where the comment
  says)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import yaml

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
DEPLOY = os.path.join(ROOT, "deploy")
CHART = os.path.join(DEPLOY, "helm", "sluice")
PLAIN = sorted(os.path.join(DEPLOY, "kubernetes", f) for f in os.listdir(os.path.join(DEPLOY, "kubernetes"))
               if f.endswith(".yaml"))
IAM_KEY = "0f" * 32

# Value sets the chart must render into valid, consistent documents: (name, values, the
# Secrets the values say exist outside the chart).
VALUE_SETS = [
    ("local-default", {}, set()),
    ("local-configured", {
        "auth": {"rootAccessKey": "deployroot", "rootSecretKey": "deploy-secret-0123"},
        "metrics": {"token": "scrape-token-0123", "serviceMonitor": {"enabled": True, "labels": {"release": "kp"}}},
        "local": {"persistence": {"size": "2Ti", "storageClass": "fast-nvme"}},
        "extraArgs": ["--domain=s3.example.com", "--threads=8"],
        "imagePullSecrets": [{"name": "regcred"}],
        "nodeSelector": {"disk": "nvme"},
        "tolerations": [{"key": "storage", "operator": "Exists", "effect": "NoSchedule"}],
        "podAnnotations": {"example.com/team": "ml-platform"},
    }, {"regcred"}),
    ("rados", {
        "backend": "rados",
        "rados": {"gateways": 5, "cephSecret": "ceph-client", "iamKey": IAM_KEY, "pool": "dl"},
        "metrics": {"token": "scrape-token-0123", "serviceMonitor": {"enabled": True}},
    }, {"ceph-client"}),
    ("rados-existing-secrets", {
        "backend": "rados",
        "auth": {"existingSecret": "sluice-auth"},
        "rados": {"cephSecret": "ceph-client", "iamKeySecret": "sluice-iam"},
        "metrics": {"serviceMonitor": {"enabled": True}},
        "service": {"port": 8080, "type": "LoadBalancer"},
    }, {"ceph-client", "sluice-auth", "sluice-iam"}),
]

# Values that cannot make a working store, and the reason the render must give.
BAD_VALUES = [
    ({"backend": "nfs"}, "backend must be local or rados"),
    ({"backend": "rados", "rados": {"iamKey": IAM_KEY}}, "needs rados.cephSecret"),
    ({"backend": "rados", "rados": {"cephSecret": "c"}}, "needs rados.iamKeySecret or rados.iamKey"),
    ({"backend": "rados", "rados": {"cephSecret": "c", "iamKey": "not-hex"}}, "64 hex digits"),
    ({"backend": "rados", "rados": {"cephSecret": "c", "iamKey": IAM_KEY, "gateways": 0}}, "at least 1"),
    ({"auth": {"rootAccessKey": "onlyhalf"}}, "set together"),
    ({"auth": {"rootAccessKey": "abc", "rootSecretKey": "short"}}, "at least 8 characters"),
    ({"metrics": {"serviceMonitor": {"enabled": True}}}, "needs metrics.token"),
    ({"metrics": {"open": "everyone"}}, "metrics.open must be"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)


def sluice_bin():
    return os.environ.get("SLUICE_BIN") or os.path.join(ROOT, "build/release/src/sluice")


# ---- the Kubernetes Python client's models: every field of a document must be one of theirs

def _kube_models():
    import kubernetes.client as kc
    return kc


MODEL_OF = {("v1", "Secret"): "V1Secret", ("v1", "Service"): "V1Service",
            ("apps/v1", "StatefulSet"): "V1StatefulSet", ("apps/v1", "Deployment"): "V1Deployment",
            ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget"}


def unknown_fields(value, typ, path):
    """Yields what in value the model type typ ('V1Container', 'list[...]', 'dict(str, ...)',
    'str', 'int', 'bool', 'object') does not have, or has with another type."""
    kc = _kube_models()
    if typ.startswith("list["):
        if not isinstance(value, list):
            yield f"{path}: want a list"
            return
        for i, v in enumerate(value):
            yield from unknown_fields(v, typ[5:-1], f"{path}[{i}]")
    elif typ.startswith("dict("):
        if not isinstance(value, dict):
            yield f"{path}: want a map"
            return
        inner = typ[typ.index(",") + 1:-1].strip()
        for k, v in value.items():
            yield from unknown_fields(v, inner, f"{path}.{k}")
    elif hasattr(kc, typ) and hasattr(getattr(kc, typ), "attribute_map"):
        cls = getattr(kc, typ)
        if not isinstance(value, dict):
            yield f"{path}: want an object ({typ})"
            return
        by_json = {j: a for a, j in cls.attribute_map.items()}
        for k, v in value.items():
            if k not in by_json:
                yield f"{path}.{k}: not a field of {typ}"
            elif v is not None:
                yield from unknown_fields(v, cls.openapi_types[by_json[k]], f"{path}.{k}")
    elif typ == "str" and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
        # (numbers pass: a quantity such as `cpu: 1` may be either; the schemas check the rest)
        yield f"{path}: want a string, not {value!r}"
    elif typ == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        yield f"{path}: want an integer, not {value!r}"
    elif typ == "bool" and not isinstance(value, bool):
        yield f"{path}: want true or false, not {value!r}"


# ---- the documents against each other

def subset(small, big):
    return bool(small) and all(big.get(k) == v for k, v in small.items())


def workloads(docs):
    return [d for d in docs if d["kind"] in ("StatefulSet", "Deployment")]


def server_flags():
    out = run([sluice_bin(), "server", "--help"]).stdout
    return set(re.findall(r"(--[a-z][a-z0-9-]+)", out))


def cross_check(docs, external_secrets, flags):
    """The mistakes a schema cannot see: what refers to what."""
    errs = []
    secrets = {d["metadata"]["name"]: set((d.get("stringData") or {}) | (d.get("data") or {}))
               for d in docs if d["kind"] == "Secret"}
    services = [d for d in docs if d["kind"] == "Service"]
    wl = workloads(docs)
    if len(wl) != 1:
        errs.append(f"want one workload, have {[d['kind'] for d in wl]}")

    def secret_ref(where, name, key, optional):
        if name in external_secrets:
            return
        if name not in secrets:
            if not optional:
                errs.append(f"{where}: Secret {name} is neither rendered nor given")
        elif key is not None and key not in secrets[name] and not optional:
            errs.append(f"{where}: Secret {name} has no key {key}")

    for w in wl:
        spec, pod = w["spec"], w["spec"]["template"]
        labels = pod["metadata"]["labels"]
        if not subset(spec["selector"]["matchLabels"], labels):
            errs.append(f"{w['kind']}: selector does not match its pods' labels")
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        if w["kind"] == "StatefulSet":
            headless = [s for s in services if s["metadata"]["name"] == spec["serviceName"]]
            if not headless or headless[0]["spec"].get("clusterIP") != "None":
                errs.append(f"StatefulSet.serviceName {spec['serviceName']} is no headless Service")
        for v in volumes.values():
            if "secret" in v:
                for item in v["secret"].get("items", [None]):
                    secret_ref(f"volume {v['name']}", v["secret"]["secretName"],
                               item and item["key"], False)
        for c in pod["spec"]["containers"]:
            ports = {p["name"] for p in c.get("ports", [])}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe not in c:
                    errs.append(f"container {c['name']} has no {probe}")
                elif c[probe]["httpGet"]["port"] not in ports:
                    errs.append(f"{probe} names port {c[probe]['httpGet']['port']}, not one of {ports}")
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes and m["name"] not in claims:
                    errs.append(f"volumeMount {m['name']} names no volume")
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret_ref(f"env {e['name']}", ref["name"], ref["key"], ref.get("optional", False))
            for a in c.get("args", [])[1:]:
                flag = a.split("=", 1)[0]
                if flag.startswith("--") and flag not in flags:
                    errs.append(f"container arg {a}: `sluice server` has no {flag}")
            if c.get("args", [None])[0] != "server":
                errs.append("the container does not run `sluice server`")
        for s in services:
            if not subset(s["spec"]["selector"], labels):
                errs.append(f"Service {s['metadata']['name']} selects no pod")
            for p in s["spec"]["ports"]:
                if isinstance(p["targetPort"], str) and p["targetPort"] not in {
                        q["name"] for c in pod["spec"]["containers"] for q in c.get("ports", [])}:
                    errs.append(f"Service {s['metadata']['name']} targets no container port {p['targetPort']}")
        for pdb in (d for d in docs if d["kind"] == "PodDisruptionBudget"):
            if not subset(pdb["spec"]["selector"]["matchLabels"], labels):
                errs.append("PodDisruptionBudget selects no pod")
    for sm in (d for d in docs if d["kind"] == "ServiceMonitor"):
        matched = [s for s in services if subset(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
        if not matched:
            errs.append("ServiceMonitor selects no Service")
        for ep in sm["spec"]["endpoints"]:
            if matched and ep["port"] not in {p["name"] for s in matched for p in s["spec"]["ports"]}:
                errs.append(f"ServiceMonitor port {ep['port']} is on no selected Service")
            if ep.get("path") != "/metrics":
                errs.append("ServiceMonitor does not scrape /metrics")
            cred = ep["authorization"]["credentials"]
            secret_ref("ServiceMonitor", cred["name"], cred["key"], False)
    return errs


class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = harness.npm_dir("deploy-check", ["deploy/package.json", "deploy/validate.mjs"],
                                   ["kubernetes-models", "@kubernetes-models/prometheus-operator", "yaml"])
        # Debian's Go libraries are a GOPATH: build offline, in GOPATH mode.
        cls.render_bin = os.path.join(cls.work, "helm-render")
        env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOFLAGS="", GOENV="off",
                   GOCACHE=os.path.join(cls.work, "gocache"))
        r = run(["go", "build", "-o", cls.render_bin, "."], cwd=os.path.join(ROOT, "tools", "helm-render"),
                env=env, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("building tools/helm-render failed:\n" + r.stdout + r.stderr)
        cls.tmp = tempfile.mkdtemp(prefix="sluice-deploy-")
        cls.flags = server_flags()
        assert "--data" in cls.flags and "--ceph-conf" in cls.flags, "cannot read `sluice server --help`"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def render(self, values, name="sluice"):
        vf = os.path.join(self.tmp, "values.yaml")
        with open(vf, "w") as f:
            yaml.safe_dump(values, f)
        return run([self.render_bin, "--name", name, "--namespace", "ml", "-f", vf, CHART])

    def validate(self, path):
        r = run(["node", "validate.mjs", path], cwd=self.work)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(" 0 invalid", r.stdout)
        return r.stdout

    def check_documents(self, path, external, cross=True):
        self.validate(path)
        r = run(["yamllint", "-s", "-c", os.path.join(DEPLOY, ".yamllint"), path])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for d in docs:
            model = MODEL_OF.get((d["apiVersion"], d["kind"]))
            if model:
                self.assertEqual(list(unknown_fields(d, model, d["kind"])), [], path)
        if cross:
            self.assertEqual(cross_check(docs, external, self.flags), [], path)
        return docs

    # ---- the plain manifests

    def test_plain_manifests(self):
        r = run(["yamllint", "-s", "-c", os.path.join(DEPLOY, ".yamllint"), *PLAIN,
                 os.path.join(CHART, "values.yaml"), os.path.join(CHART, "Chart.yaml")])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        docs = []
        for p in PLAIN:
            if os.path.basename(p) == "kustomization.yaml":
                self.validate(p)
                continue
            docs += self.check_documents(p, set(), cross=False)
        self.assertEqual(cross_check(docs, set(), self.flags), [])
        kinds = sorted(d["kind"] for d in docs)
        self.assertEqual(kinds, ["Secret", "Service", "Service", "ServiceMonitor", "StatefulSet"])
        sts = next(d for d in docs if d["kind"] == "StatefulSet")
        self.assertEqual(sts["spec"]["replicas"], 1)  # a local store is one machine
        self.assertTrue(sts["spec"]["volumeClaimTemplates"])
        c = sts["spec"]["template"]["spec"]["containers"][0]
        self.assertIn("requests", c["resources"])
        # No default credential: the Secret ships empty.
        secret = next(d for d in docs if d["kind"] == "Secret")
        self.assertTrue(all(v == "" for v in secret["stringData"].values()))

    def test_containerfile_agrees_with_the_manifests(self):
        # The image's defaults and the pods' settings must agree: the user the pods run as
        # owns the volume, the volume is where the pods mount it, and the default command
        # uses flags the server has. (deploy/build-image.sh builds and runs the image;
        # tests/integration/test_image.py checks it where buildah can run.)
        with open(os.path.join(DEPLOY, "Containerfile")) as f:
            text = f.read().replace("\\\n", " ")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        self.assertEqual(sum(ln.startswith("FROM ") for ln in lines), 2)  # build, runtime
        runtime = lines[max(i for i, ln in enumerate(lines) if ln.startswith("FROM ")):]
        directive = {ln.split()[0]: ln.split(None, 1)[1] for ln in runtime}
        cmd = json.loads(directive["CMD"])
        self.assertEqual(cmd[0], "server")
        for a in cmd[1:]:
            if a.startswith("--"):
                self.assertIn(a, self.flags)
        self.assertEqual(json.loads(directive["ENTRYPOINT"]), ["/usr/local/bin/sluice"])
        with open(os.path.join(DEPLOY, "kubernetes", "statefulset.yaml")) as f:
            pod = yaml.safe_load(f)["spec"]["template"]["spec"]
        uid = directive["USER"].split(":")[0]
        self.assertEqual(str(pod["securityContext"]["runAsUser"]), uid)
        self.assertEqual(str(pod["securityContext"]["fsGroup"]), directive["USER"].split(":")[1])
        self.assertEqual(pod["containers"][0]["volumeMounts"][0]["mountPath"], directive["VOLUME"])
        self.assertEqual(str(pod["containers"][0]["ports"][0]["containerPort"]), directive["EXPOSE"])
        with open(os.path.join(CHART, "values.yaml")) as f:
            values = yaml.safe_load(f)
        self.assertEqual(str(values["podSecurityContext"]["runAsUser"]), uid)

    # ---- the chart

    def test_chart_renders_valid_documents(self):
        for name, values, external in VALUE_SETS:
            with self.subTest(values=name):
                r = self.render(values)
                self.assertEqual(r.returncode, 0, r.stderr)
                path = os.path.join(self.tmp, f"{name}.yaml")
                with open(path, "w") as f:
                    f.write(r.stdout)
                docs = self.check_documents(path, external)
                kinds = sorted(d["kind"] for d in docs)
                w = workloads(docs)[0]
                c = w["spec"]["template"]["spec"]["containers"][0]
                if values.get("backend") == "rados":
                    self.assertEqual(w["kind"], "Deployment")
                    self.assertEqual(w["spec"]["replicas"], values["rados"].get("gateways", 3))
                    self.assertIn("PodDisruptionBudget", kinds)
                    self.assertIn("--ceph-conf=/etc/ceph/ceph.conf", c["args"])
                    self.assertIn("--iam-key-file=/etc/sluice/iam/iam-key", c["args"])
                    self.assertNotIn("volumeClaimTemplates", w["spec"])
                else:
                    self.assertEqual(w["kind"], "StatefulSet")
                    self.assertEqual(w["spec"]["replicas"], 1)
                    self.assertTrue(any(a.startswith("--data=") for a in c["args"]))
                for a in values.get("extraArgs", []):
                    self.assertIn(a, c["args"])
                self.assertEqual("ServiceMonitor" in kinds,
                                 values.get("metrics", {}).get("serviceMonitor", {}).get("enabled", False))
                secrets = [d for d in docs if d["kind"] == "Secret"]
                if name == "local-default" or name == "rados-existing-secrets":
                    self.assertEqual(secrets, [])  # nothing to keep: no Secret at all
                if name == "rados":
                    self.assertEqual(secrets[0]["stringData"]["iam-key"], IAM_KEY)
                if name == "local-configured":
                    sd = secrets[0]["stringData"]
                    self.assertEqual(sd["root-access-key"], "deployroot")
                    pvc = w["spec"]["volumeClaimTemplates"][0]["spec"]
                    self.assertEqual(pvc["storageClassName"], "fast-nvme")
                    self.assertEqual(pvc["resources"]["requests"]["storage"], "2Ti")
                # The release name makes the object names.
                self.assertTrue(all(d["metadata"]["name"].startswith("sluice") for d in docs))
        r = self.render({}, name="datasets")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = {d["metadata"]["name"] for d in yaml.safe_load_all(r.stdout) if d}
        self.assertEqual(names, {"datasets-sluice", "datasets-sluice-headless"})

    def test_chart_refuses_bad_values(self):
        for values, reason in BAD_VALUES:
            with self.subTest(values=values):
                r = self.render(values)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn(reason, r.stderr)

    # ---- the pod's command line, run

    def serve_as_pod(self, container, secret_values, mount):
        """Starts the binary with the container's args and environment: paths under the
        volume's mount go to a temporary directory, the listen address to loopback."""
        root = tempfile.mkdtemp(prefix="pod-", dir=self.tmp)
        port = harness.free_port()
        args = []
        for a in container["args"]:
            flag, _, val = a.partition("=")
            if flag == "--listen":
                val = f"127.0.0.1:{port}"
            elif val.startswith(mount + "/"):
                val = root + val
            args.append(f"{flag}={val}" if _ else a)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        for e in container.get("env", []):
            ref = e["valueFrom"]["secretKeyRef"]
            if ref["key"] in secret_values:
                env[e["name"]] = secret_values[ref["key"]]
        log = open(os.path.join(root, "log"), "wb")
        proc = subprocess.Popen([sluice_bin(), *args], env=env, stdout=log, stderr=log)
        self.addCleanup(lambda: (proc.poll() is None and (proc.terminate(), proc.wait(30))))
        endpoint = f"http://127.0.0.1:{port}"
        probes = {p: container[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")}
        deadline = time.time() + 30
        while True:
            self.assertIsNone(proc.poll(), open(log.name).read())
            try:
                with urllib.request.urlopen(endpoint + probes["startupProbe"], timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            self.assertLess(time.time(), deadline, "the startup probe never passed")
            time.sleep(0.1)
        for p in ("livenessProbe", "readinessProbe"):
            with urllib.request.urlopen(endpoint + probes[p], timeout=5) as r:
                self.assertEqual(r.status, 200, p)
        return endpoint, root, proc

    def test_manifest_command_line_serves(self):
        with open(os.path.join(DEPLOY, "kubernetes", "statefulset.yaml")) as f:
            sts = yaml.safe_load(f)
        c = sts["spec"]["template"]["spec"]["containers"][0]
        mount = c["volumeMounts"][0]["mountPath"]
        # The Secret as shipped (empty): the server generates the root credential where the
        # Secret's comment says to read it.
        endpoint, root, proc = self.serve_as_pod(c, {}, mount)
        with open(root + "/var/lib/sluice/data/root-credentials") as f:
            ak, sk = f.read().split()
        s3 = harness.boto3_client(endpoint, ak=ak, sk=sk)
        s3.create_bucket(Bucket="pod")
        s3.put_object(Bucket="pod", Key="k", Body=b"x" * 1000)
        self.assertEqual(s3.get_object(Bucket="pod", Key="k")["Body"].read(), b"x" * 1000)
        self.assertTrue(os.path.exists(root + "/var/lib/sluice/iam.key"))  # on the volume
        # --metrics-open=none: no token, no scrape; the request is refused, not served.
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(endpoint + "/metrics", timeout=5)
        self.assertEqual(e.exception.code, 401)

    def test_chart_command_line_serves(self):
        values = dict(VALUE_SETS[1][1])
        r = self.render(values)
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = [d for d in yaml.safe_load_all(r.stdout) if d]
        c = workloads(docs)[0]["spec"]["template"]["spec"]["containers"][0]
        secret = next(d for d in docs if d["kind"] == "Secret")["stringData"]
        endpoint, root, proc = self.serve_as_pod(c, secret, c["volumeMounts"][0]["mountPath"])
        s3 = harness.boto3_client(endpoint, ak=secret["root-access-key"], sk=secret["root-secret-key"])
        s3.create_bucket(Bucket="chart")
        self.assertEqual([b["Name"] for b in s3.list_buckets()["Buckets"]], ["chart"])
        # The ServiceMonitor's scrape: the Secret's token as a bearer token.
        req = urllib.request.Request(endpoint + "/metrics",
                                     headers={"Authorization": "Bearer " + secret["metrics-token"]})
        with urllib.request.urlopen(req, timeout=5) as m:
            self.assertIn(b"sluice_requests_total", m.read())
        bad = urllib.request.Request(endpoint + "/metrics", headers={"Authorization": "Bearer wrong"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(bad, timeout=5)
        self.assertEqual(e.exception.code, 403)


if __name__ == "__main__":
    unittest.main(verbosity=2)
