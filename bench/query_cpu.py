#!/usr/bin/env python3
"""Server CPU per PromQL query: the CPU time (user + sys from /proc) an Oriel server spends on each
of bench/run.py's query classes, as an instant query and as range queries over 1 h and 4 h.

CPU time rather than wall time, so that a busy machine (other processes on the same cores) does
not hide or fake a change. Also prints wall time, minor page faults and the answer's size.

Data: a copy of a data directory kept by `run.py --keep` (--data; --end is then the newest sample,
see its block meta.json), or a fresh server fed by oriel-loadgen as run.py's query scenario does
(--fresh: the samples then sit in the head rather than in blocks). /tmp/promql-data below stands
for a copy of the data directory that `run.py --keep --scenarios query` left behind.

  python3 bench/query_cpu.py --build-dir build --data /tmp/promql-data \\
      --end 1796395560 --reps 30 --only rate,topk/4h
  python3 bench/query_cpu.py --build-dir build --fresh --reps 30
  python3 bench/query_cpu.py --build-dir build --data /tmp/promql-data \\
      --end 1796395560 --page-cache-size 256MiB    # blocks' pages all kept decompressed
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import QUERY_CLASSES  # noqa: E402  (the same queries as the benchmark)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu, int(fields[7])  # CPU seconds, minor faults


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--data", help="data directory to copy and serve")
    ap.add_argument("--end", type=float, help="query end time (Unix seconds) with --data")
    ap.add_argument("--fresh", action="store_true", help="ingest 10k series x 4 h first")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--only", default="", help="comma-separated prefixes: rate,sum by/inst,...")
    ap.add_argument("--page-cache-size", help="the server's storage.page_cache_size, e.g. 256MiB "
                    "(default: the server's default)")
    args = ap.parse_args()
    if bool(args.data) == args.fresh or (args.data and args.end is None):
        ap.error("give either --data with --end, or --fresh")
    binary = os.path.join(args.build_dir, "oriel")
    work = tempfile.mkdtemp(prefix="oriel-query-cpu-")
    data = os.path.join(work, "data")
    if args.data:
        shutil.copytree(args.data, data)
    else:
        os.makedirs(data)
    port = free_port()
    command = [binary, "serve", "--data-dir", data, "--http-listen", f"127.0.0.1:{port}",
               "--grpc-listen", f"127.0.0.1:{free_port()}", "--log-level", "warn"]
    if args.page_cache_size:
        config = os.path.join(work, "oriel.yml")
        with open(config, "w") as f:
            f.write(f"storage:\n  page_cache_size: {args.page_cache_size}\n")
        command += ["--config", config]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/-/ready", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        end = args.end
        if args.fresh:
            subprocess.run([os.path.join(args.build_dir, "oriel-loadgen"), "--target", base,
                            "--signals", "metrics", "--series", "10000", "--ticks", "240",
                            "--interval", "60", "--duration", "600", "--batch", "2000",
                            "--concurrency", "4", "--rate", "0", "--seed", "1"],
                           check=True, capture_output=True, timeout=600)
            time.sleep(2)
            end = float(int(time.time()))
        kinds = [("inst", "/api/v1/query", {"time": f"{end:.3f}"}),
                 ("1h", "/api/v1/query_range",
                  {"start": f"{end - 3600:.3f}", "end": f"{end:.3f}", "step": "15"}),
                 ("4h", "/api/v1/query_range",
                  {"start": f"{end - 14400:.3f}", "end": f"{end:.3f}", "step": "60"})]
        prefixes = [p for p in args.only.split(",") if p]
        for name, query in QUERY_CLASSES:
            for kind, path, params in kinds:
                key = f"{name}/{kind}"
                if prefixes and not any(key.startswith(p) for p in prefixes):
                    continue
                url = f"{base}{path}?{urllib.parse.urlencode(dict(params, query=query))}"
                body = urllib.request.urlopen(url, timeout=120).read()  # warm-up
                cpu0, faults0 = proc_stat(server.pid)
                t0 = time.time()
                for _ in range(args.reps):
                    urllib.request.urlopen(url, timeout=120).read()
                wall = time.time() - t0
                cpu1, faults1 = proc_stat(server.pid)
                print(f"{key:28s} cpu {1000 * (cpu1 - cpu0) / args.reps:7.2f} ms  "
                      f"wall {1000 * wall / args.reps:7.2f} ms  "
                      f"faults {(faults1 - faults0) / args.reps:6.0f}  bytes {len(body)}",
                      flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
