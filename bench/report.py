#!/usr/bin/python3
"""Turns bench/out/results.jsonl into BENCHMARKS.md (and PNG plots when matplotlib is there).
usage: report.py RESULTS.jsonl OUT.md COMMAND"""
import collections
import json
import os
import platform
import statistics
import subprocess
import sys

results_path, out_path, command = sys.argv[1:4]
rows = [json.loads(l) for l in open(results_path) if l.strip()]
runs = collections.defaultdict(list)
meta = {}
for r in rows:
    if r["kind"] == "meta":
        meta.update(r)
        continue
    runs[(r["kind"], r["size"], r["conns"], r["target"])].append(r)


def med(key, field):
    vals = [x[field] for x in runs.get(key, [])]
    return statistics.median(vals) if vals else None


def spread(key, field):
    vals = [x[field] for x in runs.get(key, [])]
    if len(vals) < 2:
        return ""
    m = statistics.median(vals)
    return f" ±{100 * (max(vals) - min(vals)) / 2 / m:.0f}%" if m else ""


def fmt(v, unit=""):
    if v is None:
        return "–"
    return f"{v:,.0f}{unit}" if v >= 100 else f"{v:,.1f}{unit}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
lines = ["# Benchmarks", "",
         "Produced by `bench/run.sh`; every figure below comes from one run of it. Only the "
         "ratios mean much: the machine is shared and the load generator shares its two cores "
         "with the server.", "",
         f"- command: `{command}`",
         f"- machine: {os.cpu_count()} cores ({cpu}), {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
         f"{platform.system()} {platform.release()}",
         f"- date: {meta.get('date', '?')}; duration per measurement {meta.get('duration', '?')}, "
         f"{meta.get('reps', '?')} repetitions, median shown with half the min–max spread",
         f"- peers: nginx {meta.get('nginx', '?')} (sendfile, plain file URLs); Ceph RGW "
         f"{meta.get('rgw', 'not run')} ({meta.get('rgw_store', '')}, SigV4-presigned URLs); sluice "
         "release build, `--no-access-log`, SigV4-presigned URLs", ""]

sizes = sorted({k[1] for k in runs if k[0] == "get"}, key=lambda s: int(s[:-1]) * (1 if s[-1] == "k" else 1024 if s[-1] == "m" else 1))
conns = sorted({k[2] for k in runs if k[0] == "get"})
if sizes:
    lines += ["## GET (wrk, keep-alive)", "",
              "| object | conns | sluice req/s | nginx req/s | RGW req/s | sluice/nginx | sluice/RGW | sluice MiB/s | sluice p99 ms |",
              "|---|---|---|---|---|---|---|---|---|"]
    for s in sizes:
        for c in conns:
            k = lambda t: ("get", s, c, t)
            sl, ng, rg = med(k("sluice"), "rps"), med(k("nginx"), "rps"), med(k("rgw"), "rps")
            if sl is None:
                continue
            lines.append(f"| {s} | {c} | {fmt(sl)}{spread(k('sluice'), 'rps')} | {fmt(ng)}{spread(k('nginx'), 'rps')} | "
                         f"{fmt(rg)}{spread(k('rgw'), 'rps')} | {ratio(sl, ng)} | {ratio(sl, rg)} | "
                         f"{fmt(med(k('sluice'), 'mibps'))} | {fmt(med(k('sluice'), 'p99_ms'))} |")
    lines.append("")

if sizes and any(k[0] == "get" and k[3] == "sluice-tls" for k in runs):
    lines += ["## The cost of TLS on GET (the same objects, one sluice over HTTPS, one over HTTP)", "",
              "wrk keeps its connections open, so this prices record encryption (AES-GCM through "
              "OpenSSL, read + SSL_write in place of sendfile), not handshakes. The kernel here "
              "offers no kTLS (`/proc/sys/net/ipv4/tcp_available_ulp` lacks `tls`).", "",
              "| object | conns | HTTPS req/s | HTTP req/s | HTTPS/HTTP | HTTPS MiB/s | HTTPS p99 ms |",
              "|---|---|---|---|---|---|---|"]
    for s in sizes:
        for c in conns:
            k = lambda t: ("get", s, c, t)
            tl, pl = med(k("sluice-tls"), "rps"), med(k("sluice"), "rps")
            if tl is None:
                continue
            lines.append(f"| {s} | {c} | {fmt(tl)}{spread(k('sluice-tls'), 'rps')} | {fmt(pl)} | {ratio(tl, pl)} | "
                         f"{fmt(med(k('sluice-tls'), 'mibps'))} | {fmt(med(k('sluice-tls'), 'p99_ms'))} |")
    lines.append("")

psizes = sorted({k[1] for k in runs if k[0] == "put"}, key=lambda s: int(s[:-1]) * (1 if s[-1] == "k" else 1024))
if psizes:
    lines += ["## PUT (bench/put_load: signed, durable before the 2xx)", "",
              "| object | conns | sluice PUT/s | RGW PUT/s | sluice/RGW | sluice MiB/s | dd conv=fsync MiB/s | sluice/dd | sluice p99 ms |",
              "|---|---|---|---|---|---|---|---|---|"]
    dd = meta.get("dd_mibps")
    for s in psizes:
        for c in sorted({k[2] for k in runs if k[0] == "put" and k[1] == s}):
            k = lambda t: ("put", s, c, t)
            sl, rg = med(k("sluice"), "rps"), med(k("rgw"), "rps")
            mib = med(k("sluice"), "mibps")
            lines.append(f"| {s} | {c} | {fmt(sl)}{spread(k('sluice'), 'rps')} | {fmt(rg)} | {ratio(sl, rg)} | "
                         f"{fmt(mib)} | {fmt(dd)} | {ratio(mib, dd) if s.endswith('m') and int(s[:-1]) >= 64 else '–'} | "
                         f"{fmt(med(k('sluice'), 'p99_ms'))} |")
    lines.append("")

notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
if os.path.exists(notes):
    lines += [open(notes).read().strip(), ""]
open(out_path, "w").write("\n".join(lines))
print(f"wrote {out_path}")
