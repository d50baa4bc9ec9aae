#!/usr/bin/python3
"""The loader claim, measured as users deploy it (#21 item 5).

A PyTorch DataLoader (4 workers) runs sluice.torch.ShardDataset over tar shards of
~100 KiB samples, a whole epoch at a time, in three arrangements:

- transport: the loader and the server on one host, page cache warm: ShardDataset from
  sluice against the same ShardDataset from nginx serving the same shard files (the
  speed of light of an HTTP GET here). Target >= 1.0x.
- cold: the page cache of the data dropped before every epoch (a data set larger than
  memory): ShardDataset from sluice against the same ShardDataset over the local shard
  files, both reading the disk. Target >= 0.95x. nginx serving the files, dropped the
  same way, runs alongside: what any HTTP server's transport costs cold.
- apart: the server and the loader in two network namespaces joined by a veth pair, the
  server's processes pinned to core 0 and the loader's to core 1: the closest this
  2-core machine gets to a storage host and a training host. sluice against nginx in
  the same arrangement (both warm).

Epochs alternate between the two sides of a comparison, so the machine's drift hits both;
each round reports both rates and their ratio. Servers run inside a network namespace of
their own on 127.0.0.1 (nginx from ../shared/peers/nginx-up.sh); the loader's namespace
reaches them through the veth pair, the server's namespace translating its veth address to
its loopback (nftables, route_localnet) so that both servers keep their loopback-only
listeners. Needs root (ip netns, nft). Everything it creates is removed at the end.

usage: /usr/bin/python3 bench/loader_bench.py [--total-mib 1024] [--rounds 3]
       [--scenarios transport,cold,apart]
"""
import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
AK, SK = "loaderbenchkey", "loaderbenchsecret0123456789"
PEERS = os.path.normpath(os.path.join(ROOT, "..", "shared", "peers"))
SAMPLE = 100 * 1024
PER_SHARD = 400  # ~40 MiB shards
SRV_NS, CLI_NS = f"slb-srv-{os.getpid()}", f"slb-cli-{os.getpid()}"
SRV_IP, CLI_IP = "10.199.0.1", "10.199.0.2"
SRV_DEV, CLI_DEV = f"slbs{os.getpid() % 100000}", f"slbc{os.getpid() % 100000}"


def sh(*cmd, **kw):
    out = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.strip()[-500:]}")
    return out


def is_mount(path):
    """Whether `path` is a mount point, from /proc/self/mountinfo (os.path.ismount misses a
    directory bound onto itself, as `ip netns add` binds /run/netns)."""
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def inside(ns, *cmd):
    """`cmd` in network namespace `ns`. nsenter enters the network namespace only: `ip netns
    exec` (and `ip -n`) also make / a slave mount, which fails in a chroot whose / is not a
    mount point (the fresh-machine check's)."""
    return ["nsenter", f"--net=/run/netns/{ns}", *cmd]


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the loader, run as its own process in a namespace ----

def epoch_main(source, endpoint, shards, workers):
    """One epoch of ShardDataset over `shards` (URLs, or a directory for "local"); prints
    JSON with samples and seconds."""
    sys.path.insert(0, os.path.join(ROOT, "build/release/python"))
    import torch  # noqa: F401
    from torch.utils.data import DataLoader
    import sluice.torch
    if source == "local":
        ds = sluice.torch.ShardDataset(shards, shuffle=False)
    else:
        urls = shards.split(",")
        ds = sluice.torch.ShardDataset(urls, shuffle=False, prefetch=2,
                                       client=dict(endpoint=endpoint, access_key=AK, secret_key=SK))
    loader = DataLoader(ds, batch_size=64, num_workers=workers, collate_fn=lambda b: len(b))
    t0 = time.time()
    n = sum(loader)
    print(json.dumps({"samples": n, "seconds": time.time() - t0}), flush=True)


# ---- the harness ----

class Bench:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="sluice-loader-bench-")
        self.shard_dir = os.path.join(self.work, "www", "loader", "shards")
        self.data = os.path.join(self.work, "data")
        self.ns = False
        self.netns_mounted = False
        self.sluice = None
        self.nginx = False
        self.port = free_port()
        self.nport = free_port()
        self.sock = os.path.join(self.work, "sluice.sock")

    # network namespaces
    def netns_up(self):
        ip = lambda *x: sh("ip", *x)  # noqa: E731
        # `ip netns add` makes /run/netns a mount of its own when it is not one yet; that
        # mount is undone at the end, so nothing is left mounted (a chroot must unmount clean).
        self.netns_mounted = not is_mount("/run/netns")
        self.ns = True  # whatever of it exists is removed at the end
        ip("netns", "add", SRV_NS)
        ip("netns", "add", CLI_NS)
        ip("link", "add", SRV_DEV, "type", "veth", "peer", "name", CLI_DEV)
        ip("link", "set", SRV_DEV, "netns", SRV_NS)
        ip("link", "set", CLI_DEV, "netns", CLI_NS)
        sh(*inside(SRV_NS, "ip", "addr", "add", SRV_IP + "/24", "dev", SRV_DEV))
        sh(*inside(CLI_NS, "ip", "addr", "add", CLI_IP + "/24", "dev", CLI_DEV))
        for ns, dev in ((SRV_NS, SRV_DEV), (CLI_NS, CLI_DEV)):
            sh(*inside(ns, "ip", "link", "set", dev, "up"))
            sh(*inside(ns, "ip", "link", "set", "lo", "up"))
        # /proc/sys/net is the writer's own network namespace's.
        sh(*inside(SRV_NS, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet"))
        rules = (f"table ip slb {{\n  chain pre {{\n    type nat hook prerouting priority -100;\n"
                 f"    ip daddr {SRV_IP} tcp dport {{ {self.port}, {self.nport} }} dnat to 127.0.0.1\n  }}\n}}\n")
        sh(*inside(SRV_NS, "nft", "-f", "-"), input=rules)

    def netns_down(self):
        if self.ns:
            for ns in (SRV_NS, CLI_NS):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            if self.netns_mounted and is_mount("/run/netns") and not os.listdir("/run/netns"):
                subprocess.run(["umount", "/run/netns"], capture_output=True)

    # servers, inside the server's namespace
    def servers_up(self):
        log = open(os.path.join(self.work, "sluice.log"), "wb")
        self.sluice = subprocess.Popen(
            inside(SRV_NS, os.path.join(ROOT, "build/release/src/sluice"), "server",
             "--data", self.data, "--listen", f"127.0.0.1:{self.port}", "--unix-socket", self.sock,
             "--access-key", AK,
             "--secret-key", SK, "--no-access-log"), stdout=log, stderr=log)
        env = dict(os.environ, NGINX_STATE=os.path.join(self.work, "nginx-state"))
        out = subprocess.run(inside(SRV_NS, os.path.join(PEERS, "nginx-up.sh"),
                              os.path.join(self.work, "www"), str(self.nport)),
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError("nginx-up.sh: " + out.stderr[-800:])
        self.nginx_env = env
        self.nginx = True
        for _ in range(200):
            if subprocess.run(inside(SRV_NS, "curl", "-sf", "-o", "/dev/null",
                               f"http://127.0.0.1:{self.port}/health")).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("sluice did not start")

    def server_pids(self):
        """Every thread of sluice and of nginx (master and workers)."""
        pids = [str(self.sluice.pid)]
        pids += subprocess.run(["pgrep", "-P", str(self.sluice.pid)], capture_output=True,
                               text=True).stdout.split()  # nsenter execs, but be sure
        master = open(os.path.join(self.work, "nginx-state", "master.pid")).read().strip()
        pids.append(master)
        pids += subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout.split()
        return pids

    def pin_servers(self, cores):
        for pid in self.server_pids():
            subprocess.run(["taskset", "-a", "-p", "-c", cores, pid], capture_output=True)

    def servers_down(self):
        if self.nginx:
            subprocess.run([os.path.join(PEERS, "nginx-down.sh")], capture_output=True, env=self.nginx_env)
        if self.sluice:
            self.sluice.terminate()
            self.sluice.wait()

    # the data set
    def make_shards(self):
        os.makedirs(self.shard_dir)
        n = (self.a.total_mib << 20) // SAMPLE
        self.n_samples = n
        self.keys = []
        for s in range((n + PER_SHARD - 1) // PER_SHARD):
            path = os.path.join(self.shard_dir, f"shard-{s:05d}.tar")
            with tarfile.open(path, "w") as tar:
                for i in range(s * PER_SHARD, min(n, (s + 1) * PER_SHARD)):
                    for ext, data in (("bin", os.urandom(SAMPLE - 16)), ("cls", str(i % 1000).encode())):
                        info = tarfile.TarInfo(f"{i:08d}.{ext}")
                        info.size = len(data)
                        tar.addfile(info, io.BytesIO(data))
            self.keys.append(f"loader/shards/shard-{s:05d}.tar")
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://{SRV_IP}:{self.port}", AWS_ACCESS_KEY_ID=AK,
                   AWS_SECRET_ACCESS_KEY=SK)
        binary = os.path.join(ROOT, "build/release/src/sluice")
        sh(*inside(CLI_NS, binary, "mb", "s3://loader"), env=env)
        sh(*inside(CLI_NS, binary, "cp", "-r", "-q", self.shard_dir, "s3://loader/shards/"), env=env)
        sh("sync")

    def urls(self):
        return ",".join(f"s3://{k.split('/', 1)[0]}/{k.split('/', 1)[1]}" for k in self.keys)

    def epoch(self, source, ns, host, cores=None):
        """Samples per second of one epoch, the loader in namespace `ns` on `cores`."""
        endpoint = {"sluice": f"http://{host}:{self.port}", "nginx": f"http://{host}:{self.nport}",
                    "sluice-unix": f"unix://{self.sock}"}.get(source, "")
        shards = self.shard_dir if source == "local" else self.urls()
        cmd = inside(ns)
        if cores:
            cmd += ["taskset", "-c", cores]
        cmd += [PY, "-W", "ignore", os.path.abspath(__file__), "--epoch", source, endpoint, shards,
                str(self.a.workers)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if out.returncode != 0:
            raise RuntimeError(f"epoch {source}: {out.stderr[-1500:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        if r["samples"] != self.n_samples:
            raise RuntimeError(f"epoch {source}: {r['samples']} samples of {self.n_samples}")
        return r["samples"] / r["seconds"]

    def drop(self, top):
        """Drops the page cache of every file under `top` (posix_fadvise DONTNEED after a
        sync; no root needed, unlike /proc/sys/vm/drop_caches)."""
        for d, _, names in os.walk(top):
            for name in names:
                fd = os.open(os.path.join(d, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)

    def warm(self):
        for top in (self.shard_dir, os.path.join(self.data, "objects")):
            for d, _, names in os.walk(top):
                for name in names:
                    with open(os.path.join(d, name), "rb") as f:
                        while f.read(8 << 20):
                            pass

    def run(self):
        a = self.a
        self.netns_up()
        self.servers_up()
        self.make_shards()
        print(f"ShardDataset, DataLoader with {a.workers} workers, {self.n_samples} samples of "
              f"100 KiB in {len(self.keys)} shards ({a.total_mib} MiB), {a.rounds} rounds; "
              f"samples/s, sluice first", flush=True)
        results = []
        for scenario in a.scenarios.split(","):
            for rnd in range(a.rounds):
                extra = ""
                if scenario == "transport":
                    self.pin_servers("0,1")
                    self.warm()
                    ours = self.epoch("sluice", SRV_NS, "127.0.0.1")
                    theirs = self.epoch("nginx", SRV_NS, "127.0.0.1")
                    unix = self.epoch("sluice-unix", SRV_NS, "")
                    extra = f"  (sluice on its Unix socket {unix:7.0f} = {unix / theirs:4.2f}x)"
                    peer = "nginx"
                elif scenario == "cold":
                    self.pin_servers("0,1")
                    self.drop(os.path.join(self.data, "objects"))
                    ours = self.epoch("sluice", SRV_NS, "127.0.0.1")
                    self.drop(self.shard_dir)
                    theirs = self.epoch("local", SRV_NS, "")
                    # What any HTTP server's transport costs cold: nginx with its files dropped.
                    self.drop(self.shard_dir)
                    cold_nginx = self.epoch("nginx", SRV_NS, "127.0.0.1")
                    self.drop(os.path.join(self.data, "objects"))
                    unix = self.epoch("sluice-unix", SRV_NS, "")
                    extra = (f"  (nginx cold {cold_nginx:7.0f} = {cold_nginx / theirs:4.2f}x local, "
                             f"sluice = {ours / cold_nginx:4.2f}x nginx; sluice on its Unix socket "
                             f"{unix:7.0f} = {unix / theirs:4.2f}x local)")
                    peer = "local files"
                elif scenario == "apart":
                    self.pin_servers("0")
                    self.warm()
                    ours = self.epoch("sluice", CLI_NS, SRV_IP, cores="1")
                    theirs = self.epoch("nginx", CLI_NS, SRV_IP, cores="1")
                    peer = "nginx"
                else:
                    raise SystemExit(f"unknown scenario {scenario}")
                results.append((scenario, rnd, ours, theirs))
                print(f"  {scenario:9s} round {rnd + 1}: sluice {ours:7.0f} vs {peer} {theirs:7.0f} "
                      f"= {ours / theirs:4.2f}x{extra}", flush=True)
        return results

    def cleanup(self):
        self.servers_down()
        self.netns_down()
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--total-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--scenarios", default="transport,cold,apart")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("loader_bench.py needs root (ip netns, nft)")
    b = Bench(a)
    try:
        b.run()
    finally:
        b.cleanup()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--epoch":
        epoch_main(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
