#!/usr/bin/python3
"""Keeps docs/compatibility.md true: every row of the operations table that names a test
suite must be backed by a `compat: <id>` marker in that suite's files, and every marker
must name a row. usage: compat_check.py [REPO_ROOT]"""
import glob
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
I = "tests/integration/"
SUITES = {
    "golden": ["tests/golden/*.test"],
    "unit": ["tests/unit/**/*.cc"],
    "fuzz": ["tests/fuzz/*.cc"],
    "boto3": [I + "test_boto3.py"],
    "awscli": [I + "test_awscli.py"],
    "s3cmd": [I + "test_s3cmd.py"],
    "clients": [I + "clients.py", I + "test_clients.py"],
    "jssdk": [I + "test_jssdk.py", I + "js/*.mjs"],
    "rclone": [I + "test_rclone_s3fs.py"],
    "tls": [I + "test_tls.py"],
    "proxy": [I + "test_proxy.py"],
    "post_form": [I + "test_post_form.py"],
    "browser": [I + "test_browser.py"],
    "badinput": [I + "test_badinput.py"],
    "keepalive": [I + "test_keepalive.py"],
    "headers": [I + "test_request_headers.py"],
    "crash": [I + "test_crash.py"],
    "server": [I + "test_server.py"],
    "iam": [I + "test_iam.py"],
    "cli": [I + "test_cli.py"],
    "python": [I + "test_python.py"],
    "append": [I + "test_append.py"],
    "batch_get": [I + "test_batch_get.py"],
    "tar_members": [I + "test_tar_members.py"],
    "versioning": [I + "test_versioning.py"],
    "encryption": [I + "test_encryption.py"],
    "replication": [I + "test_replication.py", I + "test_replication_rgw.py"],
}
MARKER = re.compile(r"compat:\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")


def markers(files):
    found = {}
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                for m in MARKER.finditer(line):
                    for i in m.group(1).split(","):
                        found.setdefault(i.strip(), []).append(f"{os.path.relpath(f, ROOT)}:{n}")
    return found


def main():
    doc = open(os.path.join(ROOT, "docs/compatibility.md"), encoding="utf-8").read()
    section = doc.split("## Operations and features", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("id", "---") or set(cells[0]) <= {"-"}:
            continue
        rows.append(cells)
    errors = []
    if len(rows) < 10:
        errors.append(f"only {len(rows)} rows parsed from docs/compatibility.md")
    ids = [r[0] for r in rows]
    for dup in {i for i in ids if ids.count(i) > 1}:
        errors.append(f"row id '{dup}' appears more than once")
    per_suite = {s: markers(sorted({f for g in globs for f in glob.glob(os.path.join(ROOT, g), recursive=True)}))
                 for s, globs in SUITES.items()}
    for rid, what, status, tested in rows:
        suites = [s.strip() for s in tested.split(",") if s.strip() not in ("", "–", "-")]
        if status.startswith("supported") and not suites:
            errors.append(f"'{rid}' is supported but names no test suite")
        for s in suites:
            if s not in SUITES:
                errors.append(f"'{rid}' names an unknown suite '{s}'")
            elif rid not in per_suite[s]:
                errors.append(f"'{rid}' claims suite '{s}', but no file of it carries 'compat: {rid}'")
    all_ids = set(ids)
    for s, found in per_suite.items():
        for mid, where in found.items():
            if mid not in all_ids:
                errors.append(f"marker 'compat: {mid}' at {where[0]} names no row of docs/compatibility.md")
    if errors:
        print("docs/compatibility.md is out of step with the tests:")
        for e in errors:
            print("  -", e)
        return 1
    print(f"docs/compatibility.md: {len(rows)} rows, each backed by the suites it names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
