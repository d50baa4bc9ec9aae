// Validates Kubernetes manifests against the Kubernetes API's schemas, with the models npm's
// kubernetes-models generates from them (and @kubernetes-models/prometheus-operator for the
// ServiceMonitor CRD): types, required fields, enums and formats.
//   node validate.mjs FILE...     prints one line per document; exits 1 if any is invalid
// A Kustomization (kustomize.config.k8s.io) is checked for resources that exist beside it.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

const groups = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

let bad = 0, n = 0;
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      console.log(`INVALID ${file}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      bad++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue;
    n++;
    const what = `${file}: ${obj.apiVersion} ${obj.kind} ${obj.metadata?.name ?? ""}`;
    if (obj.apiVersion === "kustomize.config.k8s.io/v1beta1" && obj.kind === "Kustomization") {
      const missing = (obj.resources ?? []).filter((r) => !existsSync(join(dirname(file), r)));
      if (missing.length) { console.log(`INVALID ${what}: missing resources ${missing}`); bad++; }
      else console.log(`ok ${what}`);
      continue;
    }
    const mod = groups[obj.apiVersion];
    const cls = mod && (await import(mod))[obj.kind];
    if (!cls) {
      console.log(`INVALID ${what}: no schema for this apiVersion and kind`);
      bad++;
      continue;
    }
    try {
      new cls(obj).validate();
      console.log(`ok ${what}`);
    } catch (e) {
      console.log(`INVALID ${what}: ${e.message}`);
      bad++;
    }
  }
}
console.log(`${n} documents, ${bad} invalid`);
process.exit(bad ? 1 : 0);
