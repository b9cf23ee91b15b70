#!/usr/bin/env python3
"""Benchmark harness: the same load against Oriel and its peers, measured from outside.

Starts each system on loopback with a fresh temporary data directory, one after another,
drives the same oriel-loadgen scenario at it, measures the server process from /proc (CPU
seconds, peak and final RSS) and its data directory (bytes after a clean shutdown), stops it,
and writes a markdown table with absolute numbers and Oriel/peer ratios to BENCHMARKS.md.

A scenario that a system does not support is reported as such (with the HTTP answer that says
so), never left out. Python 3 standard library only.

The scrape-load scenario runs oriel-loadgen as exporters (--exporter-listen) and lets each
system scrape them; what it ingested is read back from its own scrape_samples_scraped and up.

Usage: python3 bench/run.py [--quick] [--with-1m] [--with-10m-spans] [--build-dir build]
                            [--out BENCHMARKS.md]
                            [--only Oriel,Prometheus] [--scenarios rw,scrape]
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def dpkg_version(package):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except OSError:
        return ""


def proc_cpu_seconds(pid):
    """utime + stime of the process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def wait_until_idle(pid, at_least=2.0, at_most=60.0, window=0.5, busy_share=0.05):
    """Waits until the process has used under `busy_share` of a core over `window` seconds (its
    flushes and background merges done), at least `at_least` and at most `at_most` seconds. The
    same rule for every system: queries then meet a settled server, and the ingest's CPU
    includes the work it left behind."""
    start = time.time()
    time.sleep(at_least)
    before = proc_cpu_seconds(pid)
    while time.time() - start < at_most:
        time.sleep(window)
        now = proc_cpu_seconds(pid)
        if now - before < busy_share * window:
            return
        before = now


def proc_memory(pid):
    """(VmHWM, VmRSS) in bytes."""
    hwm = rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return hwm, rss


def dir_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


class System:
    """A server under test: how to start it, when it is ready, where it takes writes."""

    def __init__(self, name, binary, version, skip_reason=""):
        self.name = name
        self.binary = binary
        self.version = version
        self.skip_reason = skip_reason
        self.proc = None
        self.port = 0
        self.log_file = None
        # Set by the scrape-load scenario before start(): exporter host:ports and interval (s).
        self.scrape_targets = []
        self.scrape_interval = 15

    def scrape_config(self):
        """A Prometheus-format scrape configuration of self.scrape_targets."""
        lines = ["global:", f"  scrape_interval: {self.scrape_interval}s",
                 f"  scrape_timeout: {self.scrape_interval}s"]
        if not self.scrape_targets:
            return "\n".join(lines + ["scrape_configs: []"]) + "\n"
        lines += ["scrape_configs:", "  - job_name: loadgen", "    static_configs:",
                  "      - targets: [" + ", ".join(f"'{t}'" for t in self.scrape_targets) + "]"]
        return "\n".join(lines) + "\n"

    def supports_scrape(self):
        return True

    def command(self, data_dir, work_dir):
        raise NotImplementedError

    def ready_url(self):
        raise NotImplementedError

    def remote_write_path(self):
        return "/api/v1/write"

    def compacted_bytes(self, data_dir, unit="samples"):
        """Bytes its data (of `unit`: samples or spans) takes on disk once compacted (the running
        server is told to compact now), or None when it cannot be made to."""
        return None

    def otlp_base(self):
        return None  # no OTLP/HTTP receiver

    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, work_dir):
        self.port = free_port()
        data_dir = os.path.join(work_dir, "data")
        os.makedirs(data_dir, exist_ok=True)
        self.log_file = open(os.path.join(work_dir, "server.log"), "wb")
        self.proc = subprocess.Popen(self.command(data_dir, work_dir), stdout=self.log_file,
                                     stderr=subprocess.STDOUT, cwd=work_dir)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start; "
                                   f"see {self.log_file.name}")
            status, _ = http_get(self.base_url() + self.ready_url(), timeout=1)
            if status == 200:
                return data_dir
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready within 60 s")

    def stop(self, sig=signal.SIGTERM):
        """Stops the server: SIGTERM (clean), or SIGKILL to leave its WAL as a crash would."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log_file:
            self.log_file.close()
            self.log_file = None


class Oriel(System):
    def __init__(self, binary):
        version = ""
        if os.access(binary, os.X_OK):
            out = subprocess.run([binary, "version"], capture_output=True, text=True)
            version = out.stdout.splitlines()[0] if out.stdout else ""
        super().__init__("Oriel", binary, version,
                         "" if os.access(binary, os.X_OK) else f"{binary} not built")
        self.grpc_port = 0

    def command(self, data_dir, work_dir):
        self.grpc_port = free_port()
        return [self.binary, "serve", "--data-dir", data_dir,
                "--http-listen", f"127.0.0.1:{self.port}",
                "--grpc-listen", f"127.0.0.1:{self.grpc_port}", "--log-level", "warn"]

    def ready_url(self):
        return "/-/ready"

    def compacted_bytes(self, data_dir, unit="samples"):
        path = {"samples": "/api/v1/admin/tsdb/compact",
                "spans": "/api/v1/admin/traces/flush"}.get(unit)
        if path is None:
            return None
        status, body = http_post(self.base_url() + path, b"", {}, timeout=600)
        if status != 204:
            raise RuntimeError(f"{path} answered {status}: {body[:200]!r}")
        # Spans: the trace store alone; the RED metrics derived from them are another signal,
        # kept in the metrics engine (the whole data directory is the Disk column).
        return dir_bytes(os.path.join(data_dir, "traces") if unit == "spans" else data_dir)

    def otlp_base(self):
        return self.base_url()

    def supports_scrape(self):
        return False  # no scrape manager yet


class Prometheus(System):
    def __init__(self):
        binary = "/usr/bin/prometheus"
        ok = os.access(binary, os.X_OK)
        super().__init__("Prometheus", binary,
                         "prometheus " + dpkg_version("prometheus") if ok else "",
                         "" if ok else "/usr/bin/prometheus not installed (Debian package "
                         "prometheus)")

    def command(self, data_dir, work_dir):
        config = os.path.join(work_dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(self.scrape_config())
        return [self.binary, f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver", "--web.enable-admin-api",
                "--log.level=warn"]

    def ready_url(self):
        return "/-/ready"

    def compacted_bytes(self, data_dir, unit="samples"):
        # A snapshot writes the head into a block as compaction would; its size is the data
        # compacted (the head itself is only cut into blocks once it spans 3 h).
        status, body = http_post(self.base_url() + "/api/v1/admin/tsdb/snapshot", b"", {},
                                 timeout=600)
        if status != 200:
            raise RuntimeError(f"snapshot answered {status}: {body[:200]!r}")
        snapshot = os.path.join(data_dir, "snapshots", json.loads(body)["data"]["name"])
        size = dir_bytes(snapshot)
        shutil.rmtree(snapshot, ignore_errors=True)  # not part of the data directory's size
        return size


class VictoriaMetrics(System):
    def __init__(self):
        binary = "/usr/bin/victoria-metrics"
        ok = os.access(binary, os.X_OK)
        super().__init__("VictoriaMetrics", binary,
                         "victoria-metrics " + dpkg_version("victoria-metrics") if ok else "",
                         "" if ok else "/usr/bin/victoria-metrics not installed (Debian package "
                         "victoria-metrics)")

    def command(self, data_dir, work_dir):
        # Prometheus has no cap on the series a query selects; VictoriaMetrics' default
        # (300,000) fails the 1M-series dashboard queries, so it is lifted to compare like with
        # like.
        cmd = [self.binary, f"-storageDataPath={data_dir}",
               f"-httpListenAddr=127.0.0.1:{self.port}", "-loggerLevel=ERROR",
               "-search.maxUniqueTimeseries=100000000"]
        if self.scrape_targets:
            config = os.path.join(work_dir, "scrape.yml")
            with open(config, "w") as f:
                f.write(self.scrape_config())
            # Queries right after the window must see its last scrapes (default offset: 30s).
            cmd += [f"-promscrape.config={config}", "-search.latencyOffset=1s",
                    "-search.disableCache"]
        return cmd

    def ready_url(self):
        return "/health"

    def compacted_bytes(self, data_dir, unit="samples"):
        # Flush the in-memory parts, then merge every partition; the merge runs in the
        # background, so wait until the size settles.
        http_get(self.base_url() + "/internal/force_flush", timeout=600)
        http_get(self.base_url() + "/internal/force_merge", timeout=600)
        last, stable = -1, 0
        deadline = time.time() + 300
        while stable < 3 and time.time() < deadline:
            time.sleep(1)
            size = dir_bytes(data_dir)
            stable = stable + 1 if size == last else 0
            last = size
        return last


class Scenario:
    def __init__(self, key, title, unit, loadgen_args, needs, peers_comparable, ticks=0,
                 query_reps=0):
        self.ticks = ticks  # metrics scenarios: scrapes sent, for the query window
        self.query_reps = query_reps
        self.key = key
        self.title = title
        self.unit = unit  # what one item is: samples, spans, records
        self.loadgen_args = loadgen_args
        self.needs = needs  # "remote_write", "otlp", "loki" or "scrape"
        self.peers_comparable = peers_comparable
        # Scrape load: exporters (loadgen processes), series each, scrape interval and window (s).
        self.exporters = 0
        self.exporter_series = 0
        self.scrape_interval = 15
        self.window = 0
        # Trace ingest: afterwards, trace-by-id lookups of sent traces and searches per kind
        # through the Jaeger query API (0: none).
        self.trace_lookups = 0
        self.trace_searches = 0
        # Seconds the load generator may take (0: the harness default).
        self.loadgen_timeout = 0
        # Runs against a fresh server each; the table shows the run of median CPU per item and
        # lists every run's (one run of trace ingest varies by +-15% on this shared machine).
        self.runs = 1
        # Query classes: after the ingest, QUERY_CLASSES as instant and range queries over each
        # (label, range seconds, step seconds) window ending at the newest sample.
        self.query_windows = []
        self.interval = 15
        # remote_write scenarios: bytes/sample of information in the load's values (at least).
        self.value_floor = None


def run_loadgen(loadgen, system, scenario, timeout, extra_args=()):
    if scenario.needs == "remote_write":
        args = ["--target", system.base_url(), "--remote-write-path", system.remote_write_path()]
    elif scenario.needs == "otlp-grpc":
        args = ["--otlp-protocol", "grpc", "--otlp-grpc-target", f"127.0.0.1:{system.grpc_port}"]
    else:  # OTLP/HTTP and Loki push are served where Oriel serves OTLP
        args = ["--target", system.otlp_base()]
    cmd = ([loadgen] + args + scenario.loadgen_args + list(extra_args) +
           ["--json", "--report-every", "0"])
    started = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.time() - started
    # Only the loadgen is reaped in between (the server is reaped when it stops), so the
    # difference is the loadgen's own CPU time.
    loadgen_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if out.returncode != 0:
        raise RuntimeError(f"oriel-loadgen failed ({out.returncode}): "
                           f"{out.stderr.decode(errors='replace')[-500:]}")
    report = json.loads(out.stdout.decode(errors="replace").strip().splitlines()[-1])
    report["loadgen_cpu_seconds"] = loadgen_cpu
    return report, wall, cmd


def value_floor(loadgen, scenario):
    """Bytes per sample the load's counter and gauge values carry (oriel-loadgen
    --print-value-entropy): no lossless store keeps them in fewer."""
    out = subprocess.run([loadgen] + scenario.loadgen_args + ["--print-value-entropy"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["bytes_per_sample"]


def signal_report(report, scenario):
    signals = report.get("signals", {})
    name = {"samples": "metrics", "spans": "traces", "records": "logs",
            "entries": "loki"}[scenario.unit]
    return signals.get(name, {})


def unsupported_reason(stats, path):
    """Why nothing was acknowledged, or "" if something was."""
    if stats.get("items_acked", 0) > 0:
        return ""
    rejected = stats.get("rejected", {})
    if rejected:
        codes = ", ".join(sorted(rejected))
        first = sorted(rejected)[0]
        if first in ("404", "405"):
            return f"not supported yet (HTTP {codes} on {path})"
        return f"rejected (HTTP {codes} on {path}): {stats.get('last_error', '')[:120]}"
    if stats.get("transport_errors", 0):
        return f"failed: {stats.get('last_error', '')[:160]}"
    return "nothing sent"


def measure(system, scenario, loadgen, keep, timeout):
    """Runs one scenario against a fresh instance of `system`; returns a result dict."""
    work = tempfile.mkdtemp(prefix=f"oriel-bench-{system.name.lower()}-")
    result = {"system": system.name, "scenario": scenario.key}
    try:
        data_dir = system.start(work)
        pid = system.proc.pid
        path = (system.remote_write_path() if scenario.needs == "remote_write" else
                {"spans": "/v1/traces", "records": "/v1/logs",
                 "entries": "/loki/api/v1/push"}[scenario.unit])
        # An empty request tells "not supported" from "slow" before the full run, without
        # writing samples that the run would then collide with.
        status, body = probe(system.base_url() + path, scenario.needs)
        if scenario.needs == "otlp-grpc" and not getattr(system, "grpc_port", 0):
            status = 404
        if status in (404, 405, 501):
            result["status"] = f"not supported yet (HTTP {status} on {path})"
            return result
        extra = []
        ids_file = os.path.join(work, "trace_ids.tsv")
        if scenario.trace_lookups:
            extra = ["--trace-ids-out", ids_file,
                     "--trace-ids-sample", str(scenario.trace_lookups)]
        ingest_start = time.time()
        cpu0 = proc_cpu_seconds(pid)
        report, wall, cmd = run_loadgen(loadgen, system, scenario,
                                        scenario.loadgen_timeout or timeout, extra)
        wait_until_idle(pid)  # acknowledged work settles (flushes, background merges)
        cpu1 = proc_cpu_seconds(pid)
        hwm, rss = proc_memory(pid)
        stats = signal_report(report, scenario)
        reason = unsupported_reason(stats, path)
        if scenario.trace_lookups and not reason:
            # Spans start when the loadgen made them; the window is widened for their durations.
            result["trace_queries"] = run_trace_queries(
                system.base_url(), ids_file, scenario.trace_searches,
                ingest_start - 60, time.time() + 60)
            result["trace_segments"] = self_metric(system.base_url(), "oriel_tracestore_segments")
        if scenario.query_windows:
            result["query_classes"] = run_query_classes(system.base_url(), time.time(),
                                                        scenario.query_windows,
                                                        scenario.query_reps)
        elif scenario.ticks:
            # The loadgen backfilled `ticks` scrapes ending about now.
            end = time.time()
            result["queries"] = run_queries(system.base_url(), end - scenario.ticks * 15 - 30,
                                            end, scenario.query_reps)
        if scenario.ticks or scenario.unit == "spans":
            result["compacted_bytes"] = system.compacted_bytes(data_dir, scenario.unit)
        if scenario.ticks and not scenario.query_windows:
            # kill -9, then restart on the same data: time until ready again (WAL replay after a
            # crash, index load), then a clean stop for the disk measurement.
            system.stop(signal.SIGKILL)
            t = time.time()
            system.start(work)
            result["restart_seconds"] = time.time() - t
        system.stop()
        disk = dir_bytes(data_dir)
        result.update({
            "status": reason or "ok",
            "items_sent": stats.get("items_sent", 0),
            "items_acked": stats.get("items_acked", 0),
            "rejected": stats.get("rejected", {}),
            "transport_errors": stats.get("transport_errors", 0),
            "last_error": stats.get("last_error", ""),
            "throughput": stats.get("achieved_rate", 0.0),
            "latency_p99": stats.get("latency_p99_seconds", 0.0),
            "elapsed": report.get("elapsed_seconds", wall),
            "cpu_seconds": cpu1 - cpu0,
            "loadgen_cpu": report.get("loadgen_cpu_seconds", 0.0),
            "peak_rss": hwm,
            "final_rss": rss,
            "disk_bytes": disk,
        })
        return result
    except Exception as e:  # a failing system is a row in the table, not a crashed harness
        result["status"] = f"failed: {e}"
        return result
    finally:
        system.stop()
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def query_scalar(base, query, at):
    """The value of a one-element instant query at time `at`, or None."""
    params = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}", "nocache": "1"})
    status, body = http_get(f"{base}/api/v1/query?{params}", timeout=30)
    if status != 200:
        raise RuntimeError(f"HTTP {status} for {query}: {body.decode(errors='replace')[-200:]}")
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def measure_scrape(system, scenario, loadgen, keep):
    """Scrape load: the system scrapes `scenario.exporters` oriel-loadgen exporter endpoints
    for `scenario.window` seconds; what it ingested is read back from its own per-scrape series
    (scrape_samples_scraped, up, scrape_duration_seconds), which Prometheus and VictoriaMetrics
    both record."""
    result = {"system": system.name, "scenario": scenario.key}
    if not system.supports_scrape():
        result["status"] = "not supported yet (no scraping)"
        return result
    work = tempfile.mkdtemp(prefix=f"oriel-bench-{system.name.lower()}-")
    exporters = []
    try:
        ports = [free_port() for _ in range(scenario.exporters)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for i, port in enumerate(ports):
            cmd = [loadgen, "--signals", "none", "--exporter-listen", f"127.0.0.1:{port}",
                   "--series", str(scenario.exporter_series), "--seed", str(i + 1),
                   "--interval", str(scenario.scrape_interval), "--duration", "0", "--json",
                   "--report-every", "0"]
            exporters.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL))
        for port in ports:
            deadline = time.time() + 30
            while http_get(f"http://127.0.0.1:{port}/metrics", timeout=5)[0] != 200:
                if time.time() > deadline:
                    raise RuntimeError(f"exporter on port {port} did not come up")
                time.sleep(0.2)
        system.scrape_targets = [f"127.0.0.1:{p}" for p in ports]
        system.scrape_interval = scenario.scrape_interval
        data_dir = system.start(work)
        pid = system.proc.pid
        # The window opens once every target has been scraped (Prometheus syncs its targets
        # after about 5 s, then spreads them over the interval), so that it sees every scrape.
        up = 'up{job="loadgen",exported_job=""}'  # not the exporters' own, renamed `up`
        deadline = time.time() + 60
        while (query_scalar(system.base_url(), f"count({up} == 1)", time.time()) or 0) < len(ports):
            if time.time() > deadline:
                raise RuntimeError("the exporters were not all scraped within 60 s")
            time.sleep(0.5)
        time.sleep(scenario.scrape_interval)
        cpu0 = proc_cpu_seconds(pid)
        t0 = time.time()
        time.sleep(scenario.window)
        t1 = time.time()
        cpu1 = proc_cpu_seconds(pid)
        hwm, rss = proc_memory(pid)
        time.sleep(2)  # the last scrapes of the window become queryable
        w = int(t1 - t0)
        base = system.base_url()
        samples = query_scalar(base, f"sum(sum_over_time(scrape_samples_scraped[{w}s]))", t1) or 0
        scrapes = query_scalar(base, f"sum(count_over_time({up}[{w}s]))", t1) or 0
        # One expression, so that both counts see the same points.
        failed = query_scalar(base, f"sum(count_over_time({up}[{w}s]) - sum_over_time({up}[{w}s]))",
                              t1) or 0
        p99 = query_scalar(base, "max(quantile_over_time(0.99, "
                                 f"scrape_duration_seconds[{w}s]))", t1) or 0
        served = 0
        for e in exporters:
            e.send_signal(signal.SIGTERM)
            out, _ = e.communicate(timeout=30)
            try:
                served += json.loads(out.decode().strip().splitlines()[-1])["exporter"]["scrapes"]
            except (ValueError, KeyError, IndexError):
                pass
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        system.stop()
        result.update({
            "status": "ok" if samples > 0 else "failed: no samples scraped",
            "items_sent": int(samples),
            "items_acked": int(samples),
            "rejected": {},
            "transport_errors": int(failed),  # failed scrapes (up == 0)
            "last_error": "",
            "throughput": samples / max(w, 1),
            "latency_p99": p99,
            "elapsed": w,
            "cpu_seconds": cpu1 - cpu0,
            "loadgen_cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "peak_rss": hwm,
            "final_rss": rss,
            "disk_bytes": dir_bytes(data_dir),
            "scrapes": int(scrapes),
            "scrapes_served": served,
        })
        return result
    except Exception as e:  # a failing system is a row in the table, not a crashed harness
        result["status"] = f"failed: {e}"
        return result
    finally:
        for e in exporters:
            if e.poll() is None:
                e.kill()
                e.wait()
        system.stop()
        system.scrape_targets = []
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# Panels of a node_exporter dashboard, over the series oriel-loadgen sends.
DASHBOARD_QUERIES = [
    'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))',
    '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
    'histogram_quantile(0.99, sum by (le, handler) '
    '(rate(http_request_duration_seconds_bucket[1m])))',
    'topk(10, rate(node_network_receive_bytes_total{device!="lo"}[1m]))',
    'sum by (mountpoint) (node_filesystem_avail_bytes) / '
    'sum by (mountpoint) (node_filesystem_size_bytes)',
    'count by (job) (up)',
]


def run_queries(base, start, end, reps):
    """Runs the dashboard queries as query_range; returns latency quantiles and what came back."""
    latencies = []
    series = 0
    for query in DASHBOARD_QUERIES:
        params = urllib.parse.urlencode({"query": query, "start": f"{start:.3f}",
                                         "end": f"{end:.3f}", "step": "15"})
        for rep in range(reps):
            t = time.time()
            status, body = http_get(f"{base}/api/v1/query_range?{params}", timeout=60)
            latencies.append(time.time() - t)
            if status in (404, 405, 501):
                return {"status": f"not supported yet (HTTP {status} on /api/v1/query_range)"}
            if status != 200:
                # The reason is at the end of the error (after the query echoed back).
                return {"status": f"failed: HTTP {status} for {query}: "
                                  f"...{body.decode(errors='replace')[-200:]}"}
            if rep == 0:
                try:
                    series += len(json.loads(body)["data"]["result"])
                except (ValueError, KeyError, TypeError):
                    return {"status": f"failed: not a query_range answer for {query}"}
    latencies.sort()
    return {"status": "ok", "count": len(latencies), "series": series,
            "p50": latencies[len(latencies) // 2],
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


# The query classes of the PromQL benchmark, over the series oriel-loadgen sends (rate windows of
# 5m suit both the 15 s and the 60 s scrape interval).
QUERY_CLASSES = [
    ("rate", 'rate(node_network_receive_bytes_total[5m])'),
    ("sum by", 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'),
    ("histogram_quantile", 'histogram_quantile(0.99, sum by (le, handler) '
                           '(rate(http_request_duration_seconds_bucket[5m])))'),
    ("topk", 'topk(10, rate(node_network_receive_bytes_total{device!="lo"}[5m]))'),
    ("regex matchers", 'sum by (mode) (rate(node_cpu_seconds_total{mode=~"user|system|iowait",'
                       'instance=~"node-00[0-4].*"}[5m]))'),
]


def timed_get(base, path, params):
    # nocache=1: VictoriaMetrics would otherwise answer repetitions from its rollup cache.
    params = dict(params, nocache="1")
    t = time.time()
    status, body = http_get(f"{base}{path}?{urllib.parse.urlencode(params)}", timeout=120)
    return time.time() - t, status, body


def run_query_classes(base, end, windows, reps):
    """Each query class as an instant query at `end` and as a range query over each window;
    returns {(class, kind): {status, p50, p99, series}} where kind is "instant" or a window."""
    out = {}
    for name, query in QUERY_CLASSES:
        kinds = [("instant", "/api/v1/query", {"query": query, "time": f"{end:.3f}"})]
        for label, range_s, step_s in windows:
            kinds.append((label, "/api/v1/query_range",
                          {"query": query, "start": f"{end - range_s:.3f}", "end": f"{end:.3f}",
                           "step": str(step_s)}))
        for kind, path, params in kinds:
            latencies, series, failure = [], 0, ""
            for rep in range(reps):
                took, status, body = timed_get(base, path, params)
                if status != 200:
                    failure = (f"failed: HTTP {status}: "
                               f"...{body.decode(errors='replace')[-160:]}")
                    break
                latencies.append(took)
                if rep == 0:
                    try:
                        series = len(json.loads(body)["data"]["result"])
                    except (ValueError, KeyError, TypeError):
                        failure = "failed: not a Prometheus query answer"
                        break
            if failure:
                out[(name, kind)] = {"status": failure}
                continue
            q = quantiles(latencies)
            out[(name, kind)] = {"status": "ok", "series": series, "p50": q[0], "p99": q[1]}
    return out


def self_metric(base, name):
    """The value of an unlabelled sample of the server's own /metrics, or None."""
    status, body = http_get(f"{base}/metrics", timeout=30)
    if status != 200:
        return None
    for line in body.decode(errors="replace").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == name:
            try:
                return float(fields[1])
            except ValueError:
                return None
    return None


def read_trace_ids(path):
    """oriel-loadgen's --trace-ids-out file: (hex id, root service, root operation) tuples."""
    out = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 3 and len(fields[0]) == 32:
                out.append(tuple(fields))
    return out


def quantiles(latencies):
    latencies = sorted(latencies)
    return (latencies[len(latencies) // 2],
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))])


def jaeger_data(body):
    """The "data" list of a Jaeger API answer, or None when it is not one."""
    try:
        data = json.loads(body)["data"]
    except (ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, list) else None


def run_trace_queries(base, ids_file, searches, start, end):
    """Trace-by-id lookups of the sampled sent traces, then `searches` searches of each kind,
    through the Jaeger query API; returns {kind: {status, count, p50, p99, ...}}."""
    try:
        sampled = read_trace_ids(ids_file)
    except OSError as e:
        return {"by id": {"status": f"failed: no trace ids from oriel-loadgen ({e})"}}
    if not sampled:
        return {"by id": {"status": "failed: oriel-loadgen wrote no trace ids"}}
    out = {}
    latencies, found, spans = [], 0, 0
    for trace_id, _, _ in sampled:
        t = time.time()
        status, body = http_get(f"{base}/api/traces/{trace_id}", timeout=30)
        latencies.append(time.time() - t)
        if status in (405, 501) or (status == 404 and not body.strip().startswith(b"{")):
            out["by id"] = {"status": f"not supported yet (HTTP {status} on /api/traces/{{id}})"}
            break
        if status == 200:
            data = jaeger_data(body)
            if data is None or len(data) != 1 or data[0].get("traceID") != trace_id:
                out["by id"] = {"status": f"failed: /api/traces/{trace_id} did not return it"}
                break
            found += 1
            spans += len(data[0].get("spans", []))
        elif status != 404:
            out["by id"] = {"status": f"failed: HTTP {status} on /api/traces/{trace_id}: "
                                      f"{body.decode(errors='replace')[:160]}"}
            break
    else:
        p50, p99 = quantiles(latencies)
        out["by id"] = {"status": "ok", "count": len(latencies), "p50": p50, "p99": p99,
                        "found": found, "spans": spans}
    if out["by id"]["status"] != "ok":
        return out

    status, body = http_get(f"{base}/api/services", timeout=30)
    services = jaeger_data(body) if status == 200 else None
    if not services:
        out["services"] = {"status": f"failed: HTTP {status} on /api/services"}
        return out
    services = sorted(services)
    window = {"start": str(int(start * 1e6)), "end": str(int(end * 1e6)), "limit": "20"}
    # Searches a user would make: a service; one of its operations; a route (an attribute of
    # the root span); the traces that failed.
    kinds = {"service": lambda i: {"service": services[i % len(services)]}}
    kinds["service+operation"] = lambda i: {"service": sampled[i % len(sampled)][1],
                                            "operation": sampled[i % len(sampled)][2]}
    routes = [(svc, op.split(" ", 1)[1]) for _, svc, op in sampled if " " in op]
    if routes:
        kinds["tag http.route"] = lambda i: {
            "service": routes[i % len(routes)][0],
            "tags": json.dumps({"http.route": routes[i % len(routes)][1]})}
    kinds["tag error=true"] = lambda i: {"service": services[i % len(services)],
                                         "tags": json.dumps({"error": "true"})}
    for kind, params in kinds.items():
        latencies, traces, empty = [], 0, 0
        for i in range(searches):
            query = urllib.parse.urlencode({**params(i), **window})
            t = time.time()
            status, body = http_get(f"{base}/api/traces?{query}", timeout=60)
            latencies.append(time.time() - t)
            data = jaeger_data(body) if status == 200 else None
            if data is None:
                why = ("not supported yet" if status in (404, 405, 501) else "failed")
                out[kind] = {"status": f"{why}: HTTP {status} on /api/traces?{query}: "
                                       f"{body.decode(errors='replace')[:160]}"}
                break
            traces += len(data)
            empty += not data
        else:
            p50, p99 = quantiles(latencies)
            out[kind] = {"status": "ok", "count": len(latencies), "p50": p50, "p99": p99,
                         "traces": traces, "empty": empty}
    return out


def http_post(url, body, headers, timeout=10.0):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode()


def probe(url, needs):
    """POSTs an empty request of the scenario's protocol; returns (status, body)."""
    if needs in ("remote_write", "loki"):
        # Snappy block format of an empty WriteRequest or PushRequest: the varint length 0.
        return http_post(url, b"\x00", {"Content-Type": "application/x-protobuf",
                                        "Content-Encoding": "snappy",
                                        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    return http_post(url, b"", {"Content-Type": "application/x-protobuf"})


def scenarios(args):
    if args.quick:
        series, ticks, traces, reps = 20_000, 15, 3_000, 3
    else:
        series, ticks, traces, reps = 100_000, 30, 40_000, 10
    common = ["--concurrency", "4", "--rate", "0", "--seed", "1"]
    # Spans, logs and Loki entries of traces as fast as the target takes them, without the
    # loadgen's incidents (windows of the wall clock): a load that does not depend on when it runs.
    span_load = ["--trace-rate", "0", "--incident-period", "0", "--trace-batch", "20"]
    # Scrape load: exporters x series each, scraped every `interval` s for `window` s.
    exporters, exporter_series, interval, window = ((3, 5_000, 2, 16) if args.quick else
                                                    (10, 10_000, 5, 60))
    out = [Scenario(f"rw-{series // 1000}k",
                    f"Metrics ingest: remote_write 1.0, {series:,} active series x {ticks} "
                    "scrapes (node_exporter-like)", "samples",
                    ["--signals", "metrics", "--series", str(series), "--ticks", str(ticks),
                     "--duration", "600", "--batch", "2000"] + common,
                    "remote_write", True, ticks, reps)]
    if args.with_1m:
        out.append(Scenario("rw-1m", "Metrics ingest: remote_write 1.0, 1,000,000 active "
                            "series x 5 scrapes", "samples",
                            ["--signals", "metrics", "--series", "1000000", "--ticks", "5",
                             "--duration", "900", "--batch", "2000"] + common,
                            "remote_write", True, 5, reps))
    scrape = Scenario(f"scrape-{exporters * exporter_series // 1000}k",
                      f"Scrape load: {exporters} exporters x {exporter_series:,} series "
                      f"(node_exporter-like), scraped every {interval} s for {window} s; "
                      "p99 is the slowest target's p99 scrape duration as the scraper recorded it",
                      "samples", [], "scrape", True)
    scrape.exporters, scrape.exporter_series = exporters, exporter_series
    scrape.scrape_interval, scrape.window = interval, window
    out.append(scrape)
    # PromQL query classes (issue 4): 10k series over 24 h (60 s interval) queried over 1 h and
    # 24 h, and 100k series over 1 h (15 s interval) queried over 1 h.
    query_sets = [(10_000, 60, 24 * 3600, [("range 1h", 3600, 15), ("range 24h", 86400, 120)])]
    if not args.quick:
        query_sets.append((100_000, 15, 3600, [("range 1h", 3600, 15)]))
    else:
        query_sets[0] = (10_000, 60, 4 * 3600, [("range 1h", 3600, 15), ("range 4h", 14400, 60)])
    for qseries, interval, span, windows in query_sets:
        ticks = span // interval
        q = Scenario(f"query-{qseries // 1000}k-{span // 3600}h",
                     f"PromQL query classes: {qseries:,} series x {span // 3600} h of data "
                     f"({interval} s interval, remote_write 1.0)", "samples",
                     ["--signals", "metrics", "--series", str(qseries), "--ticks", str(ticks),
                      "--interval", str(interval), "--duration", "1500", "--batch", "2000"]
                     + common, "remote_write", True, ticks, 3 if args.quick else 5)
        q.query_windows, q.interval = windows, interval
        out.append(q)
    trace_ingest = Scenario("otlp-traces", f"Trace ingest: OTLP/HTTP protobuf, {traces:,} "
                            "traces (5-50 spans, 8 services)", "spans",
                            ["--signals", "traces", "--traces", str(traces)] + span_load
                            + ["--duration", "600"] + common,
                            "otlp", False)
    trace_ingest.trace_lookups, trace_ingest.trace_searches = 200, 50
    trace_ingest.runs = args.runs or (3 if args.quick else 5)
    out.append(trace_ingest)
    if args.with_10m_spans or not args.quick:
        # Issue 5's scale for trace queries: ~11M spans (27.5 per trace on average); about 3
        # minutes of ingest for Oriel on the 2-core machine.
        big = Scenario("otlp-traces-10m", "Trace ingest and queries at 10M spans: OTLP/HTTP "
                       "protobuf, 400,000 traces (5-50 spans, 8 services)", "spans",
                       ["--signals", "traces", "--traces", "400000"] + span_load
                       + ["--duration", "7200"] + common,
                       "otlp", False)
        big.trace_lookups, big.trace_searches, big.loadgen_timeout = 200, 50, 7500
        out.append(big)
    trace_grpc = Scenario("otlp-traces-grpc", f"Trace ingest: OTLP/gRPC, {traces:,} traces (5-50 "
                          "spans, 8 services)", "spans",
                          ["--signals", "traces", "--traces", str(traces)] + span_load
                          + ["--duration", "600"] + common,
                          "otlp-grpc", False)
    trace_grpc.runs = trace_ingest.runs
    out.append(trace_grpc)
    out.append(Scenario("otlp-logs", f"Log ingest: OTLP/HTTP protobuf, logs of {traces:,} "
                        "traces", "records",
                        ["--signals", "logs", "--traces", str(traces)] + span_load
                        + ["--duration", "600"] + common,
                        "otlp", False))
    out.append(Scenario("loki-push", f"Log ingest: Loki push (snappy protobuf), logs of "
                        f"{traces:,} traces", "entries",
                        ["--signals", "loki", "--traces", str(traces)] + span_load
                        + ["--duration", "600"] + common,
                        "loki", False))
    return out


# Scenarios from the issue that the harness does not drive yet; listed so that none is silent.
NOT_YET = [
    "LogQL scans",
    "PromQL query classes over 100k series x 24 h (a 576M-sample dataset is too slow to backfill "
    "here; 100k series are queried over 1 h, 10k series over 1 h and 24 h)",
]


def fmt_num(x, digits=1):
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def mib(b):
    return fmt_num(b / (1 << 20))


def ratio(a, b):
    if not a or not b:
        return "n/a"
    return f"{a / b:.2f}"


def query_ratio(oriel, peer):
    qo, qp = oriel.get("queries", {}), peer.get("queries", {})
    if qo.get("status") != "ok" or qp.get("status") != "ok":
        return "n/a"
    return ratio(qo["p99"], qp["p99"])


def machine_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model or platform.processor()}), "
            f"{mem / (1 << 30):.1f} GiB RAM, {platform.system()} {platform.release()}")


def render_trace_queries(sc, rows, systems):
    lines = [f"After the ingest: through the Jaeger query API, {sc.trace_lookups} "
             "GET /api/traces/{id} of sent trace ids (a uniform sample that oriel-loadgen "
             f"wrote with --trace-ids-out), then {sc.trace_searches} GET /api/traces searches "
             "of each kind (limit 20, time range covering the ingest), one at a time:", "",
             "| System | Query | Result | p50 ms | p99 ms | Returned |",
             "|---|---|---|---:|---:|---|"]
    for s in systems:
        r = rows.get(s.name)
        if r is None:
            why = (f"skipped: {s.skip_reason}" if s.skip_reason else
                   "n/a: no Jaeger query API (and takes no OTLP spans)")
            lines.append(f"| {s.name} | all | {why} | | | |")
            continue
        queries = r.get("trace_queries")
        if not queries:
            lines.append(f"| {s.name} | all | n/a: ingest {r['status']} | | | |")
            continue
        for kind, q in queries.items():
            if q["status"] != "ok":
                lines.append(f"| {s.name} | {kind} | {q['status']} | | | |")
            elif kind == "by id":
                lines.append(f"| {s.name} | by id | ok ({q['count']}) | {q['p50'] * 1e3:.2f} | "
                             f"{q['p99'] * 1e3:.2f} | {q['found']} of {q['count']} found, "
                             f"{q['spans']:,} spans |")
            else:
                lines.append(f"| {s.name} | search: {kind} | ok ({q['count']}) | "
                             f"{q['p50'] * 1e3:.2f} | {q['p99'] * 1e3:.2f} | "
                             f"{q['traces']:,} traces, {q['empty']} empty answers |")
        if r.get("trace_segments") is not None:
            lines.append(f"| {s.name} | (segments on disk) | {r['trace_segments']:.0f} | | | |")
    return lines + [""]


def render_query_classes(sc, rows, systems):
    names = [s.name for s in systems]
    lines = [f"After the ingest: each query class as an instant query at the newest sample and as "
             f"query_range over the windows below, {sc.query_reps} times each, one at a time "
             "(`nocache=1`); p50 / p99 in ms, and Oriel's p99 over each peer's (below 1: Oriel "
             "is faster):", "",
             "| Query class | Kind | " + " | ".join(f"{n} p50 / p99 ms" for n in names) + " | "
             + " | ".join(f"p99 Oriel/{n}" for n in names if n != "Oriel") + " |",
             "|---|---|" + "---:|" * (2 * len(names) - 1)]
    kinds = ["instant"] + [label for label, _, _ in sc.query_windows]
    for name, _ in QUERY_CLASSES:
        for kind in kinds:
            cells, p99 = [], {}
            for n in names:
                r = rows.get(n) or {}
                q = r.get("query_classes", {}).get((name, kind))
                if q is None:
                    cells.append("n/a")
                elif q["status"] != "ok":
                    cells.append(q["status"][:80].replace("|", "/"))
                else:
                    cells.append(f"{q['p50'] * 1e3:.1f} / {q['p99'] * 1e3:.1f} "
                                 f"({q['series']} series)")
                    p99[n] = q["p99"]
            ratios = [ratio(p99.get("Oriel"), p99.get(n)) for n in names if n != "Oriel"]
            lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " | "
                         + " | ".join(ratios) + " |")
    return lines + [""]


def render(results, scenario_list, systems, command, started, notes):
    lines = ["# Benchmarks", "",
             f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
             f"- Machine: {machine_info()}",
             f"- Command: `{command}`"]
    for s in systems:
        lines.append(f"- {s.name}: {s.version or 'n/a'}" +
                     (f" (skipped: {s.skip_reason})" if s.skip_reason else ""))
    lines += ["",
              "Measured from outside: CPU seconds of the server process during the load "
              "and until it is idle again afterwards (under 5% of a core over 0.5 s: its "
              "flushes and merges done; queries start then) "
              "(/proc/<pid>/stat utime+stime), peak RSS (VmHWM) and RSS at the end (VmRSS), "
              "bytes in its data directory after the clean stop that ends the run (in metrics "
              "scenarios that is after the compaction below), bytes once compacted (metrics scenarios: "
              "Oriel's POST /api/v1/admin/tsdb/compact, a Prometheus snapshot of the head and "
              "blocks, VictoriaMetrics' force_flush + force_merge; trace scenarios: Oriel's "
              "POST /api/v1/admin/traces/flush, counting only its trace store, not the RED "
              "metrics it derives), and "
              "the throughput oriel-loadgen saw acknowledged (2xx). The load generator runs on "
              "the same machine and competes for its cores (its own CPU time is the last column), "
              "so compare ratios, not absolutes.",
              ""]
    singular = {"samples": "sample", "spans": "span", "records": "record", "entries": "entry"}
    for sc in scenario_list:
        one = singular[sc.unit]
        lines += [f"## {sc.title}", "",
                  f"| System | Result | Acked {sc.unit} | Throughput ({sc.unit}/s) | "
                  f"CPU s | CPU µs/{one} | Peak RSS MiB | Final RSS MiB | Disk MiB | "
                  f"Disk B/{one} | Compacted B/{one} | p99 request ms | Loadgen CPU s |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        rows = {r["system"]: r for r in results if r["scenario"] == sc.key}
        for s in systems:
            r = rows.get(s.name)
            if r is None:
                if s.skip_reason:
                    lines.append(f"| {s.name} | skipped: {s.skip_reason} |" + " |" * 11)
                elif not sc.peers_comparable and s.name != "Oriel":
                    lines.append(f"| {s.name} | n/a (takes no {sc.needs} {sc.unit}) |"
                                 + " |" * 11)
                continue
            if r["status"] != "ok" and "items_acked" not in r:
                lines.append(f"| {s.name} | {r['status']} |" + " |" * 11)
                continue
            acked = r["items_acked"]
            compacted = r.get("compacted_bytes")
            status = "ok" if r["status"] == "ok" else r["status"]
            if sc.needs == "scrape" and r.get("transport_errors"):
                status += f"; {r['transport_errors']} of {r.get('scrapes', 0)} scrapes failed"
            elif r.get("rejected") or r.get("transport_errors"):
                rej = sum(v["items"] for v in r["rejected"].values())
                status += (f"; {rej:,} rejected ({', '.join(sorted(r['rejected']))}), "
                           f"{r['transport_errors']} transport errors")
            lines.append(
                f"| {s.name} | {status} | {acked:,} | {fmt_num(r['throughput'])} | "
                f"{r['cpu_seconds']:.2f} | "
                f"{fmt_num(r['cpu_seconds'] * 1e6 / acked, 2) if acked else 'n/a'} | "
                f"{mib(r['peak_rss'])} | {mib(r['final_rss'])} | {mib(r['disk_bytes'])} | "
                f"{fmt_num(r['disk_bytes'] / acked, 2) if acked else 'n/a'} | "
                f"{fmt_num(compacted / acked, 2) if acked and compacted else 'n/a'} | "
                f"{r['latency_p99'] * 1e3:.1f} | {r['loadgen_cpu']:.1f} |")
        lines.append("")
        for s in systems:
            r = rows.get(s.name)
            if r and "cpu_per_item_runs" in r:
                runs = r["cpu_per_item_runs"]
                lines += [f"{s.name}: {len(runs)} runs, each against a fresh server; CPU µs/{one} "
                          f"in run order: {', '.join(f'{x * 1e6:.2f}' for x in runs)}; the row above is "
                          f"the median run ({sorted(runs)[(len(runs) - 1) // 2] * 1e6:.2f}"
                          f"{', the lower middle one' if len(runs) % 2 == 0 else ''}).", ""]
        if sc.value_floor is not None:
            lines += [f"The load's values carry at least {sc.value_floor:.2f} bytes of information "
                      "per sample (the entropy of its counters' and moving gauges' steps, histogram "
                      "series not counted; `oriel-loadgen --print-value-entropy`): no lossless store "
                      "keeps them in fewer.", ""]
        if sc.ticks and not sc.query_windows:
            lines += ["After the ingest: the dashboard queries below as query_range over the "
                      "ingested window (step 15s), then kill -9 and a restart on the same data until ready "
                      "(WAL replay after a crash):",
                      "", "| System | Queries | Query p50 ms | Query p99 ms | Series returned | "
                      "Restart to ready s |", "|---|---|---:|---:|---:|---:|"]
            for s in systems:
                r = rows.get(s.name)
                if r is None or "items_acked" not in r:
                    why = r["status"] if r else f"skipped: {s.skip_reason}"
                    lines.append(f"| {s.name} | n/a: {why} | | | | |")
                    continue
                q = r.get("queries", {"status": "not run"})
                restart = (f"{r['restart_seconds']:.2f}" if "restart_seconds" in r else "n/a")
                if q["status"] != "ok":
                    lines.append(f"| {s.name} | {q['status']} | | | | {restart} |")
                else:
                    lines.append(f"| {s.name} | ok ({q['count']}) | {q['p50'] * 1e3:.1f} | "
                                 f"{q['p99'] * 1e3:.1f} | {q['series']:,} | {restart} |")
            lines.append("")
        if sc.query_windows:
            lines += render_query_classes(sc, rows, systems)
        if sc.trace_lookups:
            lines += render_trace_queries(sc, rows, systems)
        oriel = rows.get("Oriel")
        peers = [s for s in systems if s.name != "Oriel"]
        if sc.peers_comparable and peers:
            lines += ["Ratios Oriel/peer (throughput: higher is better; CPU per item, peak "
                      "RSS, disk: lower is better):", "",
                      "| Peer | Throughput | CPU µs/item | Peak RSS | Disk | Compacted | Query p99 | "
                      "Restart |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for p in peers:
                pr = rows.get(p.name)
                if oriel is None or oriel["status"] != "ok":
                    why = oriel["status"] if oriel else "not run"
                    lines.append(f"| {p.name} | n/a: Oriel {why} | | | | | | |")
                elif pr is None or pr["status"] != "ok":
                    why = pr["status"] if pr else f"skipped: {p.skip_reason}"
                    lines.append(f"| {p.name} | n/a: {p.name} {why} | | | | | | |")
                else:
                    o_cpu = oriel["cpu_seconds"] / max(oriel["items_acked"], 1)
                    p_cpu = pr["cpu_seconds"] / max(pr["items_acked"], 1)
                    o_disk = oriel["disk_bytes"] / max(oriel["items_acked"], 1)
                    p_disk = pr["disk_bytes"] / max(pr["items_acked"], 1)
                    lines.append(f"| {p.name} | {ratio(oriel['throughput'], pr['throughput'])} "
                                 f"| {ratio(o_cpu, p_cpu)} | "
                                 f"{ratio(oriel['peak_rss'], pr['peak_rss'])} | "
                                 f"{ratio(o_disk, p_disk)} | "
                                 f"{ratio(oriel.get('compacted_bytes'), pr.get('compacted_bytes'))} | "
                                 f"{query_ratio(oriel, pr)} | "
                                 f"{ratio(oriel.get('restart_seconds'), pr.get('restart_seconds'))} |")
            lines.append("")
        elif not sc.peers_comparable:
            lines += ["No peer in this run takes this signal (ClickHouse-backed trace and log "
                      "comparisons are not wired yet), so there is no ratio.", ""]
    lines += ["## Not measured yet", "",
              "Scenarios from the benchmark plan that this harness does not drive yet:", ""]
    lines += [f"- {n}" for n in NOT_YET]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def median_run(runs):
    """The run of median CPU per item, with every run's CPU per item attached; a failed run, if
    any, instead (a failure is reported, not outvoted)."""
    for r in runs:
        if r["status"] != "ok" or not r.get("items_acked"):
            return r
    per_item = lambda r: r["cpu_seconds"] / r["items_acked"]
    ordered = sorted(runs, key=per_item)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    if len(runs) > 1:
        chosen["cpu_per_item_runs"] = [per_item(r) for r in runs]
    return chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes")
    ap.add_argument("--with-1m", action="store_true", help="add the 1M active series scenario")
    ap.add_argument("--with-10m-spans", action="store_true",
                    help="add trace ingest and queries at ~11M spans to a --quick run (full runs have it)")
    ap.add_argument("--build-dir", default=os.environ.get("ORIEL_BUILD_DIR",
                                                          os.path.join(ROOT, "build")))
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--no-install", action="store_true",
                    help="do not install missing peers (they are reported as skipped)")
    ap.add_argument("--only", default="", help="comma-separated systems (Oriel,Prometheus,...)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    ap.add_argument("--runs", type=int, default=0,
                    help="runs of each trace ingest scenario (default 5, 3 with --quick)")
    ap.add_argument("--scenarios", default="",
                    help="comma-separated scenario keys (exact) or key prefixes (rw,scrape,otlp-traces,...)")
    args = ap.parse_args()
    # Servers run with their temp dir as working directory: the binaries need absolute paths.
    args.build_dir = os.path.abspath(args.build_dir)
    started = datetime.datetime.now(datetime.timezone.utc)
    command = "python3 bench/run.py" + "".join(f" {a}" for a in sys.argv[1:])
    notes = []

    loadgen = os.path.join(args.build_dir, "oriel-loadgen")
    if not os.access(loadgen, os.X_OK):
        sys.exit(f"bench: {loadgen} not found; build first (make build)")

    if not args.no_install:
        script = os.path.join(ROOT, "scripts", "install-deps.sh")
        out = subprocess.run([script, "bench"], capture_output=True, text=True)
        if out.returncode != 0:
            notes.append(f"installing peers failed: {out.stderr.strip()[-300:]}")
            log(notes[-1])

    systems = [Oriel(os.path.join(args.build_dir, "oriel")), Prometheus(), VictoriaMetrics()]
    if args.only:
        wanted = {s.strip().lower() for s in args.only.split(",")}
        systems = [s for s in systems if s.name.lower() in wanted]
    scenario_list = scenarios(args)
    if args.scenarios:
        # A full key selects that scenario alone (`otlp-traces` is also the prefix of
        # `otlp-traces-grpc`); anything else selects every scenario whose key it begins.
        keys = {sc.key for sc in scenario_list}
        names = [p.strip() for p in args.scenarios.split(",") if p.strip()]
        scenario_list = [sc for sc in scenario_list
                         if any(sc.key == n if n in keys else sc.key.startswith(n)
                                for n in names)]
    timeout = 170 if args.quick else 1000
    results = []
    for sc in scenario_list:
        if sc.needs == "remote_write":
            sc.value_floor = value_floor(loadgen, sc)
        for s in systems:
            if s.skip_reason:
                continue
            if not sc.peers_comparable and s.name != "Oriel":
                continue
            log(f"{sc.key}: {s.name}")
            if sc.needs == "scrape":
                r = measure_scrape(s, sc, loadgen, args.keep)
            else:
                r = median_run([measure(s, sc, loadgen, args.keep, timeout)
                                for _ in range(sc.runs)])
            log(f"{sc.key}: {s.name}: {r['status']}" +
                (f", {r['items_acked']:,} {sc.unit} acked at {r['throughput']:,.0f}/s, "
                 f"{r['cpu_seconds']:.1f} CPU s" if "items_acked" in r else "") +
                (f", {r['scrapes']} scrapes in the window ({r['scrapes_served']} served in all)"
                 if "scrapes" in r else ""))
            results.append(r)
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    notes.append(f"The harness took {elapsed:.0f} s.")
    text = render(results, scenario_list, systems, command, started, notes)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
