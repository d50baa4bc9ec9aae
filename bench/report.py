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
    if r["kind"] == "dd":  # dd conv=fsync samples, spread over the PUT phases
        meta.setdefault("dd_samples", []).append(r["mibps"])
        continue
    if r["kind"] in ("cli", "torch", "md5"):
        continue
    if r["kind"] == "list" and r["size"] == "delimiter-over-1m-keys":  # its name until 2026-12-07
        r["size"] = "delimiter-over-walk"
    runs[(r["kind"], r["size"], r["conns"], r["target"])].append(r)


if meta.get("dd_samples"):
    meta["dd_mibps"] = statistics.median(meta["dd_samples"])


def dd_note():
    v = meta.get("dd_samples") or []
    if len(v) < 2:
        return ""
    return (f"`dd conv=fsync` is the median of {len(v)} runs of 512 MiB spread over the PUT "
            f"phases, from {min(v):,.0f} to {max(v):,.0f} MiB/s.")


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
         "release build, default configuration (access log on) unless a column says otherwise, SigV4-presigned URLs", ""]

sizes = sorted({k[1] for k in runs if k[0] == "get"}, key=lambda s: int(s[:-1]) * (1 if s[-1] == "k" else 1024 if s[-1] == "m" else 1))
conns = sorted({k[2] for k in runs if k[0] == "get"})
if sizes:
    lines += ["## GET (wrk, keep-alive)", "",
              "Logs on: sluice in its default configuration (one access-log line per request, to "
              "standard error, here a file) against nginx with its access log on, buffered "
              "(`buffer=64k flush=1s`, configured by bench/run.sh). Logs off: `--no-access-log` "
              "against the peer nginx (`access_log off`).", "",
              "| object | conns | sluice req/s | nginx req/s | **sluice/nginx** | logs off: sluice | logs off: nginx | logs off: ratio | RGW req/s | sluice/RGW | sluice MiB/s | sluice p99 ms |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sizes:
        for c in conns:
            k = lambda t: ("get", s, c, t)
            sl, ng = med(k("sluice"), "rps"), med(k("nginx-log"), "rps")
            sn, nn, rg = med(k("sluice-nolog"), "rps"), med(k("nginx"), "rps"), med(k("rgw"), "rps")
            if sl is None:
                continue
            lines.append(f"| {s} | {c} | {fmt(sl)}{spread(k('sluice'), 'rps')} | {fmt(ng)}{spread(k('nginx-log'), 'rps')} | "
                         f"**{ratio(sl, ng)}** | {fmt(sn)}{spread(k('sluice-nolog'), 'rps')} | {fmt(nn)}{spread(k('nginx'), 'rps')} | "
                         f"{ratio(sn, nn)} | {fmt(rg)}{spread(k('rgw'), 'rps')} | {ratio(sl, rg)} | "
                         f"{fmt(med(k('sluice'), 'mibps'))} | {fmt(med(k('sluice'), 'p99_ms'))} |")
    lines.append("")

if sizes and any(k[0] == "get" and k[3] == "sluice-tls" for k in runs):
    lines += ["## HTTPS GET against nginx over HTTPS (the same objects, certificate and protocols)", "",
              "wrk keeps its connections open, so this prices record encryption (AES-GCM through "
              "OpenSSL, read + SSL_write in place of sendfile), not handshakes. The kernel here "
              "offers no kTLS (`/proc/sys/net/ipv4/tcp_available_ulp` lacks `tls`). Both logs on. "
              f"Negotiated: sluice {meta.get('tls_sluice', '?')}, nginx {meta.get('tls_nginx', '?')}.", "",
              "| object | conns | sluice HTTPS req/s | nginx HTTPS req/s | **sluice/nginx** | sluice HTTP req/s | sluice HTTPS/HTTP | HTTPS MiB/s | HTTPS p99 ms |",
              "|---|---|---|---|---|---|---|---|---|"]
    for s in sizes:
        for c in conns:
            k = lambda t: ("get", s, c, t)
            tl, nt, pl = med(k("sluice-tls"), "rps"), med(k("nginx-tls"), "rps"), med(k("sluice"), "rps")
            if tl is None:
                continue
            lines.append(f"| {s} | {c} | {fmt(tl)}{spread(k('sluice-tls'), 'rps')} | {fmt(nt)}{spread(k('nginx-tls'), 'rps')} | "
                         f"**{ratio(tl, nt)}** | {fmt(pl)} | {ratio(tl, pl)} | "
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
    note = dd_note()
    if note:
        lines += [note, ""]

bs = med(("put", "4k", 16, "rgw-bluestore"), "rps")
if bs:
    sl = med(("put", "4k", 16, "sluice"), "rps")
    lines += [f"**Durable 4 KiB PUT against the disk-backed RGW** (bluestore on a file, same disk, "
              f"same generator): sluice {fmt(sl)} PUT/s, RGW {fmt(bs)} PUT/s: **{ratio(sl, bs)}**. "
              "(The PUT table above compares against the memstore RGW.)", ""]


def rows_of(kind):
    return {k: v for k, v in runs.items() if k[0] == kind}


cli = [r for r in rows if r["kind"] == "cli"]
if cli:
    def cli_rate(tool, scen, d):
        rows = [r for r in cli if r["tool"] == tool and r["scenario"] == scen and r["direction"] == d]
        return statistics.median(r["bytes"] / r["seconds"] / 2**20 for r in rows) if rows else None
    n_many = next((r["bytes"] // 102400 for r in cli if r["scenario"] == "many"), 0)
    big = next((r["bytes"] // 2**20 for r in cli if r["scenario"] == "one"), 0)
    rounds = sum(1 for r in cli if r["scenario"] == "one" and r["direction"] == "down" and r["tool"] == "sluice")
    rerun = meta.get("client_rerun")
    rerun_note = (f" These rows and the PyTorch rows below come from a second run of just these two "
                  f"phases ({rerun}, against a fresh sluice) after a change to the client's download "
                  "path; every other table is from the main run.") if rerun else ""
    lines += ["## CLIs: sluice, the AWS CLI and rclone (bench/cli_bench.sh)", "",
              f"Each tool copies {n_many:,} files of 100 KiB (`cp --recursive`, rclone `copy`) and one "
              f"{big:,} MiB object to and from the same sluice server, in turn, with its default settings "
              "(sluice: 16 files and 8 parts of 8 MiB in flight; AWS CLI: 10 requests, 8 MiB parts; rclone: "
              "4 transfers). Downloads land in RAM (/dev/shm) so the disk's writeback does not decide the "
              f"result; every download is compared with the source. The large object goes in {rounds} "
              "round(s) with the tools' order rotated, figures are medians, and every tool downloads the "
              "same object, read once beforehand: sluice writes large objects with O_DIRECT, so a fresh "
              "upload is not in the page cache, and whichever tool met the cold disk would lose to it."
              + rerun_note + (f" The AWS CLI was `{meta['aws_cli']}`, the one first on PATH; bench/cli_bench.sh "
                              "passes it `--endpoint-url`, as Debian 12's AWS CLI 2.9 ignores AWS_ENDPOINT_URL."
                              if meta.get("aws_cli") else ""), "",
              "| scenario | direction | sluice MiB/s | AWS CLI MiB/s | rclone MiB/s | sluice/AWS CLI | sluice/rclone |",
              "|---|---|---|---|---|---|---|"]
    for scen, label in (("many", f"{n_many:,} × 100 KiB"), ("one", f"1 × {big:,} MiB")):
        for d in ("up", "down"):
            s, a, r = cli_rate("sluice", scen, d), cli_rate("aws", scen, d), cli_rate("rclone", scen, d)
            lines.append(f"| {label} | {'upload' if d == 'up' else 'download'} | {fmt(s)} | {fmt(a)} | {fmt(r)} | "
                         f"{ratio(s, a)} | {ratio(s, r)} |")
    lines.append("")

md5 = [r for r in rows if r["kind"] == "md5"]
if md5:
    base = next((r["mibps"] for r in md5 if r["impl"] == "openssl"), None)
    lines += ["## MD5 in SIMD lanes (bench/md5_lanes.cc)", "",
              "S3 makes each PUT's and part's ETag the MD5 of its bytes. OpenSSL hashes one stream on one "
              "core; `Md5Stream::UpdateShared` (src/common/md5.h) hashes the streams being hashed at the "
              "same moment together, eight to a 256-bit register, on whichever caller leads. Each stream "
              "hashes 1 MiB pieces on its own thread; MiB/s is the total over the streams.", "",
              "| hash | streams | MiB/s | vs OpenSSL, one stream |", "|---|---|---|---|"]
    for r in md5:
        lines.append(f"| {'OpenSSL' if r['impl'] == 'openssl' else 'Md5Stream (' + r['impl'] + ')'} | "
                     f"{r['streams']} | {fmt(r['mibps'])} | {ratio(r['mibps'], base)} |")
    lines.append("")

tb = [r for r in rows if r["kind"] == "torch"]
if tb:
    def tmed(scen, target, field, op=None):
        v = [r[field] for r in tb if r["scenario"] == scen and r["target"] == target and r.get("op") == op]
        return statistics.median(v) if v else None
    ls, lsd, ss, rs, ns, bs = (tmed("loader", t, "samples_per_s") for t in
                               ("local", "local-sharddataset", "sluice", "sluice-ranged", "nginx", "boto3"))
    n = next((r["samples"] for r in tb if r["scenario"] == "loader"), 0)

    def paired(target, base, scen="loader"):
        # The median over rounds of (target / base in the same round).
        by = {(r["target"], r.get("rep", 0)): r["samples_per_s"] for r in tb if r["scenario"] == scen}
        v = [by[(target, k)] / by[(base, k)] for (t, k) in by if t == target and (base, k) in by]
        return (f"{statistics.median(v):.2f}× (rounds: " + ", ".join(f"{x:.2f}" for x in v) + ")") if v else "–"
    trerun = meta.get("torch_rerun")
    trerun_note = (f" These rows come from a rerun of just this phase ({trerun['date']}, against a fresh "
                   f"sluice): {trerun['why']} Every other table is from the main run.") if trerun else ""
    lines += ["## PyTorch data loading and checkpoints (bench/torch_bench.py)", "",
              f"A DataLoader with 4 workers over {n:,} samples of 100 KiB in tar shards of 1,000 samples "
              "(WebDataset layout), one epoch each, in alternating rounds: the same shards read from local files "
              "(page cache warm) by the usual tar loader (Python's `tarfile` in stream mode, as WebDataset "
              "reads shards) and by `sluice.torch.ShardDataset` (its own tar reader, no network); by "
              "ShardDataset from sluice (its default streaming reader, and `reader=\"ranged\"`); by "
              "ShardDataset from nginx serving the same files (the speed of light of an HTTP GET, so the "
              "cost of any server's transport on this machine); and one boto3 `get_object` per sample. "
              "Each ratio is the median of the rounds' ratios, so the machine's drift between rounds cancels. "
              "The server, the loopback TCP stack and the four workers share the machine's two cores; "
              "sluice's copies of the shards are read once before the first round, as the local ones are "
              "in the page cache." + trerun_note, "",
              "Page cache warm:", "",
              "| source | samples/s (median) | vs local files, tarfile loader | vs local files, ShardDataset "
              "| vs nginx |",
              "|---|---|---|---|---|",
              f"| local files, tarfile loader | {fmt(ls)} | – | {paired('local', 'local-sharddataset')} | "
              f"{paired('local', 'nginx')} |",
              f"| local files, ShardDataset | {fmt(lsd)} | {paired('local-sharddataset', 'local')} | – | "
              f"{paired('local-sharddataset', 'nginx')} |",
              f"| nginx, ShardDataset | {fmt(ns)} | {paired('nginx', 'local')} | "
              f"{paired('nginx', 'local-sharddataset')} | – |",
              f"| sluice.torch.ShardDataset | {fmt(ss)} | {paired('sluice', 'local')} | "
              f"{paired('sluice', 'local-sharddataset')} | {paired('sluice', 'nginx')} |",
              f"| ShardDataset, reader=\"ranged\" | {fmt(rs)} | {paired('sluice-ranged', 'local')} | "
              f"{paired('sluice-ranged', 'local-sharddataset')} | {paired('sluice-ranged', 'nginx')} |",
              f"| boto3 get_object per sample | {fmt(bs)} | {ratio(bs, ls)} | {ratio(bs, lsd)} | "
              f"{ratio(bs, ns)} |", ""]
    if any(r["scenario"] == "loader-cold" for r in tb):
        cl, clsd, cs = (tmed("loader-cold", t, "samples_per_s") for t in ("local", "local-sharddataset", "sluice"))
        lines += ["Page cache cold, as for a data set larger than memory: before each epoch the cache is dropped "
                  "(`posix_fadvise(DONTNEED)`) for the copy that epoch reads, the local shard files or "
                  "sluice's object files, so both sides read the disk:", "",
                  "| source | samples/s (median) | vs local files, tarfile loader | vs local files, ShardDataset |",
                  "|---|---|---|---|",
                  f"| local files, tarfile loader | {fmt(cl)} | – | "
                  f"{paired('local', 'local-sharddataset', 'loader-cold')} |",
                  f"| local files, ShardDataset | {fmt(clsd)} | "
                  f"{paired('local-sharddataset', 'local', 'loader-cold')} | – |",
                  f"| sluice.torch.ShardDataset | {fmt(cs)} | {paired('sluice', 'local', 'loader-cold')} | "
                  f"{paired('sluice', 'local-sharddataset', 'loader-cold')} |", ""]
    size = next((r for r in tb if r["scenario"] == "ckpt"), None)
    lines += ["Checkpoints (a state_dict of 16 float32 tensors), MiB/s:", "",
              "| | sluice.torch | torch.save/load, local disk | boto3 upload/download_fileobj |", "|---|---|---|---|"]
    for op in ("save", "load"):
        lines.append(f"| {op} | {fmt(tmed('ckpt', 'sluice', 'mib_per_s', op))} | "
                     f"{fmt(tmed('ckpt', 'local', 'mib_per_s', op))} | {fmt(tmed('ckpt', 'boto3', 'mib_per_s', op))} |")
    lines.append("")

pol = rows_of("policy")
if pol:
    k = lambda t: ("policy", "4k", 16, t)
    base, with_pol = med(k("sluice"), "rps"), med(k("sluice-policy"), "rps")
    lines += ["## Bucket policy cost (4 KiB GET, 16 connections)", "",
              "The same object in a bucket with the three-statement policy of bench/policy.json (one "
              "statement's condition, NotIpAddress on the source address, is evaluated on every "
              "request) and in a bucket without a policy, alternating runs, presigned by root.", "",
              "| bucket | req/s | vs no policy |", "|---|---|---|",
              f"| no policy | {fmt(base)}{spread(k('sluice'), 'rps')} | – |",
              f"| bench/policy.json | {fmt(with_pol)}{spread(k('sluice-policy'), 'rps')} | {ratio(with_pol, base)} |", ""]

conc = rows_of("conc")
if conc:
    lines += ["## Concurrency (4 KiB GET, wrk, 1 to 1000 connections)", "",
              "sluice here is a fresh server holding only the 4 KiB object, so its RSS is not the residue "
              "of the other phases; RSS is the peak of samples taken every 0.2 s during each run.", "",
              "| conns | sluice req/s | nginx req/s | sluice/nginx | sluice p99 ms | nginx p99 ms | sluice RSS MiB |",
              "|---|---|---|---|---|---|---|"]
    for c in sorted({k[2] for k in conc}):
        k = lambda t: ("conc", "4k", c, t)
        sl, ng = med(k("sluice"), "rps"), med(k("nginx"), "rps")
        rss = med(k("sluice"), "rss_kib")
        lines.append(f"| {c} | {fmt(sl)} | {fmt(ng)} | {ratio(sl, ng)} | {fmt(med(k('sluice'), 'p99_ms'))} | "
                     f"{fmt(med(k('nginx'), 'p99_ms'))} | {fmt(rss / 1024 if rss else None)} |")
    lines.append("")
if "idle_conns" in meta:
    b, d = meta["idle_rss_before_kib"], meta["idle_rss_kib"]
    lines += [f"**{meta['idle_conns']} idle keep-alive connections** (each made one request, then stayed open): "
              f"server RSS {b / 1024:.1f} MiB before, {d / 1024:.1f} MiB with them open, "
              f"{(d - b) / meta['idle_conns']:.1f} KiB per connection.", ""]

rng = rows_of("range")
if rng:
    k = lambda t: ("range", "8m", 16, t)
    sl, ng, rg = med(k("sluice"), "mibps"), med(k("nginx"), "mibps"), med(k("rgw"), "mibps")
    lines += ["## Ranged GETs (8 MiB parts of a 1 GiB object, 16 connections, wrk + bench/range.lua)", "",
              "| sluice MiB/s | nginx MiB/s | RGW MiB/s | sluice/nginx | sluice/RGW | sluice p99 ms |",
              "|---|---|---|---|---|---|",
              f"| {fmt(sl)}{spread(k('sluice'), 'mibps')} | {fmt(ng)}{spread(k('nginx'), 'mibps')} | {fmt(rg)} | "
              f"{ratio(sl, ng)} | {ratio(sl, rg)} | {fmt(med(k('sluice'), 'p99_ms'))} |", ""]

mpu = rows_of("mpu")
if mpu:
    k = lambda t: ("mpu", "1g", 4, t)
    sl, rg, dd = med(k("sluice"), "mibps"), med(k("rgw"), "mibps"), meta.get("dd_mibps")
    lines += ["## Multipart upload (1 GiB in 8 MiB parts, 4 connections, bench/s3_bench multipart)", "",
              "| sluice MiB/s | RGW MiB/s | dd conv=fsync MiB/s | sluice/dd | sluice/RGW |",
              "|---|---|---|---|---|",
              f"| {fmt(sl)}{spread(k('sluice'), 'mibps')} | {fmt(rg)} | {fmt(dd)} | {ratio(sl, dd)} | {ratio(sl, rg)} |", ""]

lst = rows_of("list")
if lst:
    # Runs before 2026-12-07 seeded 1,000,000 keys (10,000 prefixes) and recorded no size.
    walk_prefixes, walk_per = int(meta.get("walk_prefixes", 10000)), int(meta.get("walk_per_prefix", 100))
    lines += ["## Listing (ListObjectsV2, pages of 1,000, one connection, bench/s3_bench list)", "",
              f"Buckets seeded offline by bench/seed_keys.cc: `walk` holds {walk_prefixes * walk_per:,} keys "
              f"under {walk_prefixes:,} prefixes ({walk_per} keys each), `wide` 10,000 keys under 10,000 "
              "prefixes, `small` 100,000 keys under 1,000 prefixes. Entries are keys plus common "
              "prefixes returned.", "",
              "| listing | keys | prefixes | seconds | entries/s | first page ms |",
              "|---|---|---|---|---|---|"]
    for name in ["walk-small", "walk-large", "delimiter-over-10k-keys", "delimiter-over-walk",
                 "prefix-in-small", "prefix-in-large"]:
        k = ("list", name, 1, "sluice")
        if k not in runs:
            continue
        lines.append(f"| {name} | {fmt(med(k, 'keys'))} | {fmt(med(k, 'prefixes'))} | {med(k, 'seconds'):.3f}{spread(k, 'seconds')} | "
                     f"{fmt(med(k, 'rps'))} | {fmt(med(k, 'first_page_ms'))} |")
    lines.append("")

# Plots, when matplotlib is there (bench/run.sh installs python3-matplotlib).
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plot_dir = os.path.join(os.path.dirname(os.path.abspath(out_path)), "bench", "plots") \
        if out_path.endswith("BENCHMARKS.md") else os.path.join(os.path.dirname(os.path.abspath(out_path)), "plots")
    os.makedirs(plot_dir, exist_ok=True)
    rel = os.path.relpath(plot_dir, os.path.dirname(os.path.abspath(out_path)))
    made = []
    if sizes:
        fig, axes = plt.subplots(1, len(conns), figsize=(5 * len(conns), 3.6), squeeze=False)
        for ax, c in zip(axes[0], conns):
            xs = range(len(sizes))
            shown = ["sluice", "nginx-log", "sluice-tls", "nginx-tls", "rgw"]
            for i, t in enumerate(shown):
                ys = [med(("get", s, c, t), "rps") or 0 for s in sizes]
                ax.bar([x + i * 0.16 for x in xs], ys, width=0.16,
                       label={"nginx-log": "nginx", "sluice-tls": "sluice HTTPS",
                              "nginx-tls": "nginx HTTPS"}.get(t, t))
            ax.set_xticks([x + 0.32 for x in xs], sizes)
            ax.set_yscale("log")
            ax.set_title(f"GET req/s, {c} connections")
        axes[0][0].legend()
        fig.tight_layout()
        fig.savefig(os.path.join(plot_dir, "get.png"), dpi=90)
        made.append(("GET throughput by object size", "get.png"))
    if conc:
        cs = sorted({k[2] for k in conc})
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for t in ["sluice", "nginx"]:
            ax.plot(cs, [med(("conc", "4k", c, t), "rps") or 0 for c in cs], marker="o", label=f"{t} req/s")
        ax.set_xscale("log")
        ax.set_xlabel("connections")
        ax.set_ylabel("4 KiB GET req/s")
        ax2 = ax.twinx()
        ax2.plot(cs, [(med(("conc", "4k", c, "sluice"), "rss_kib") or 0) / 1024 for c in cs], "k--", marker="x",
                 label="sluice RSS MiB")
        ax2.set_ylabel("RSS MiB")
        ax.legend(loc="upper left")
        ax2.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(os.path.join(plot_dir, "concurrency.png"), dpi=90)
        made.append(("Concurrency: throughput and server memory", "concurrency.png"))
    if lst:
        names = [n for n in ["walk-small", "walk-large", "delimiter-over-10k-keys", "delimiter-over-walk"]
                 if ("list", n, 1, "sluice") in runs]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.barh(names, [med(("list", n, 1, "sluice"), "seconds") for n in names])
        ax.set_xlabel("seconds for the whole listing")
        fig.tight_layout()
        fig.savefig(os.path.join(plot_dir, "listing.png"), dpi=90)
        made.append(("Listing time", "listing.png"))
    if made:
        lines += ["## Plots", ""] + [f"![{title}]({rel}/{f})" for title, f in made] + [""]
except ImportError:
    pass

versions = os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSIONS.md")
if os.path.exists(versions):  # from bench/versions_bench.sh, run on its own
    lines += [open(versions).read().strip(), ""]
backends = os.path.join(os.path.dirname(os.path.abspath(__file__)), "BACKENDS.md")
if os.path.exists(backends):  # issue #18, step 0: bench/ab.sh and bench/cg_requests.sh
    lines += [open(backends).read().strip(), ""]
rados = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RADOS.md")
if os.path.exists(rados):  # issue #18: bench/rados.sh, run on its own (its own cluster)
    lines += [open(rados).read().strip(), ""]
rados_notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RADOS_NOTES.md")
if os.path.exists(rados_notes):
    lines += [open(rados_notes).read().strip(), ""]
replication = os.path.join(os.path.dirname(os.path.abspath(__file__)), "REPLICATION.md")
if os.path.exists(replication):  # issue #19: bench/replication.py, run on its own
    lines += [open(replication).read().strip(), ""]
appends = os.path.join(os.path.dirname(os.path.abspath(__file__)), "APPENDS.md")
if os.path.exists(appends):  # issue #21: bench/append_bench.py, run on its own
    lines += [open(appends).read().strip(), ""]
batch = os.path.join(os.path.dirname(os.path.abspath(__file__)), "BATCH.md")
if os.path.exists(batch):  # issue #21: bench/batch_bench.py, run on its own
    lines += [open(batch).read().strip(), ""]
members = os.path.join(os.path.dirname(os.path.abspath(__file__)), "MEMBERS.md")
if os.path.exists(members):  # issue #21: bench/members_bench.py, run on its own
    lines += [open(members).read().strip(), ""]
fanout = os.path.join(os.path.dirname(os.path.abspath(__file__)), "FANOUT.md")
if os.path.exists(fanout):  # issue #21: bench/fanout_bench.py, run on its own
    lines += [open(fanout).read().strip(), ""]
loader = os.path.join(os.path.dirname(os.path.abspath(__file__)), "LOADER.md")
if os.path.exists(loader):  # issue #21: bench/loader_bench.py, run on its own (root)
    lines += [open(loader).read().strip(), ""]
metrics_md = os.path.join(os.path.dirname(os.path.abspath(__file__)), "METRICS.md")
if os.path.exists(metrics_md):  # issue #20: bench/metrics_bench.sh and bench/cg_requests.sh, run on their own
    lines += [open(metrics_md).read().strip(), ""]
hardening = os.path.join(os.path.dirname(os.path.abspath(__file__)), "HARDENING.md")
if os.path.exists(hardening):  # issue #22: the free-space guard, RocksDB's memory, request checks
    lines += [open(hardening).read().strip(), ""]
round2 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ROUND2.md")
if os.path.exists(round2):  # issue #23: the access log, the cost counter (bench/costs.sh)
    lines += [open(round2).read().strip(), ""]
notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
if os.path.exists(notes):
    lines += [open(notes).read().strip(), ""]
open(out_path, "w").write("\n".join(lines))
print(f"wrote {out_path}")
