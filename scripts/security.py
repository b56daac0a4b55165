#!/usr/bin/env python3
"""make security: attacks a throwaway assistantd on loopback and prints a report.

Starts the built binary on an ephemeral 127.0.0.1 port over a fresh SQLite database (or
$DATABASE_URL), then:
  * sqlmap (Debian's) on every query and body parameter of the assistants, profile, auth and
    admin endpoints, and on the assistant id in the path: no injection point may be found
    and no request may be answered 500;
  * slowhttptest's slowloris, slow body and slow read attacks, each while a normal client
    (another loopback address) measures its p99: it must stay within 2x of the idle p99;
  * the cardinality probe: 2,000 requests with random long methods and paths may not grow
    /metrics' series, its size or the server's memory;
  * connection floods: 5,000 idle connections from one address, then 8 addresses together
    past the server-wide cap: the caps hold, the normal client's p99 stays within 2x, the
    server does not spin and its memory stays bounded;
  * afterwards: the server is alive, and its log holds no secret (JWT secret, master key,
    password, token).
Exits 1 if any check fails. SECURITY_QUICK=1 runs sqlmap at level 1 and shorter attacks.
Kept out of make test's time budget: it takes a few minutes.
"""

import gc
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.environ.get("SECURITY_QUICK") == "1"
# SECURITY_ONLY=slow,cardinality,floods,sqlmap runs only those parts (all by default).
ONLY = set(filter(None, os.environ.get("SECURITY_ONLY", "").split(",")))


def wanted(part):
    return not ONLY or part in ONLY
JWT_SECRET = "security-suite-" + "".join(random.choices(string.ascii_letters, k=40))
MASTER_KEY = "".join(random.choices("0123456789abcdef", k=64))
PASSWORD = "Sec-" + "".join(random.choices(string.ascii_letters, k=20))
MAX_CONNECTIONS = 2000
MAX_PER_IP = 256
NORMAL_CLIENT = "127.0.0.2"  # the normal client's address; attackers use others


def raise_open_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    """The throwaway server: its process, address and log."""

    def __init__(self, binary, workdir):
        self.port = free_port()
        self.scrape = None
        self.log_path = os.path.join(workdir, "server.log")
        args = [binary, "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", os.path.join(workdir, "data"), "--jwt-secret", JWT_SECRET,
                "--master-key", MASTER_KEY, "--log-level", "info",
                "--vapi-base-url", "http://127.0.0.1:9", "--sync-workers", "1",
                "--max-connections", str(MAX_CONNECTIONS),
                "--max-connections-per-ip", str(MAX_PER_IP)]
        # sqlmap sends thousands of requests from one address: no rate limits, no quotas.
        for flag in ("user", "test", "premium", "admin", "token-ip", "signup-ip",
                     "signin-account", "refresh-account"):
            args += [f"--rate-limit-{flag}", "0"]
        args += ["--max-assistants-user", "0"]
        if os.environ.get("DATABASE_URL"):
            args += ["--database-url", os.environ["DATABASE_URL"]]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"assistantd exited at start:\n{self.read_log()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)  # the port is not open yet: poll again
        raise SystemExit("assistantd did not answer /healthz within 30 s")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, token=None, source=NORMAL_CLIENT, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=(source, 0))
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        conn.close()
        return r.status, text

    def metrics(self):
        """/metrics over one kept-alive connection from 127.0.0.3 (opened before any flood, so
        the caps never refuse it; it counts as one connection)."""
        for _ in range(2):
            try:
                if self.scrape is None:
                    self.scrape = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=30, source_address=("127.0.0.3", 0))
                self.scrape.request("GET", "/metrics")
                r = self.scrape.getresponse()
                text = r.read().decode()
                assert r.status == 200, r.status
                return text
            except (OSError, http.client.HTTPException):
                self.scrape.close()
                self.scrape = None
        raise SystemExit("cannot scrape /metrics")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def gauge(self, name, text=None):
        for line in (text or self.metrics()).splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def count_status(self, status, text=None):
        return self.sum_series("assistantd_http_requests_total{", text, f'status="{status}"')

    def sum_series(self, prefix, text=None, containing=""):
        """The sum of the series whose lines start with `prefix` (and contain `containing`)."""
        return sum(float(line.rsplit(" ", 1)[1]) for line in (text or self.metrics()).splitlines()
                   if line.startswith(prefix) and containing in line)

    def requests_served(self):
        return self.sum_series("assistantd_http_requests_total{")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


class NormalClient:
    """One keep-alive connection from NORMAL_CLIENT doing what a user does: GET an assistant."""

    def __init__(self, server, token, path):
        self.server, self.token, self.path = server, token, path
        self.conn = self._connect()

    def _connect(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30,
                                          source_address=(NORMAL_CLIENT, 0))
        conn.connect()
        return conn

    def p99_ms(self, requests, seconds=0):
        """p50 and p99 of sequential GETs (`requests` of them, and for at least `seconds`), in
        ms, and how many failed."""
        latencies, failures = [], 0
        gc.disable()  # a collection in the client is not the server's latency
        until = time.monotonic() + seconds
        while len(latencies) < requests or time.monotonic() < until:
            start = time.perf_counter()
            try:
                self.conn.request("GET", self.path,
                                  headers={"Authorization": f"Bearer {self.token}"})
                r = self.conn.getresponse()
                r.read()
                if r.status != 200:
                    failures += 1
            except (OSError, http.client.HTTPException):
                failures += 1
                self.conn.close()
                self.conn = self._connect()
            latencies.append((time.perf_counter() - start) * 1000)
        gc.enable()
        latencies.sort()
        return (latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1],
                failures)


class Report:
    def __init__(self):
        self.rows = []

    def check(self, name, ok, figures):
        self.rows.append((name, ok, figures))
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {figures}", flush=True)

    def failed(self):
        return [r for r in self.rows if not r[1]]

    def text(self):
        lines = ["| check | result | figures |", "|---|---|---|"]
        for name, ok, figures in self.rows:
            lines.append(f"| {name} | {'pass' if ok else 'FAIL'} | {figures} |")
        return "\n".join(lines)


def attack_cpu(server, seconds=3):
    """The server's CPU use (1.0: one core) over a window where only the attack runs: a server
    spinning on its attackers' sockets shows here."""
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)  # a measurement window, not a wait for anything
    return (server.cpu_seconds() - cpu0) / (time.monotonic() - t0)


def wait_until(predicate, seconds):
    """Polls `predicate` until it holds or `seconds` pass; returns whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


# --- sqlmap -------------------------------------------------------------------------------

def sqlmap_targets(server, user, admin, assistant_id, email):
    """(name, sqlmap arguments) for every parameter an attacker controls."""
    u = ["-H", f"Authorization: Bearer {user}"]
    a = ["-H", f"Authorization: Bearer {admin}"]
    json_header = ["-H", "Content-Type: application/json"]
    return [
        ("list query: q, syncStatus, limit, cursor, fields",
         ["-u", server.url("/v1/assistants?q=bot&syncStatus=pending&limit=10&fields=id,name")]
         + u),
        ("assistant id in the path",
         ["-u", server.url(f"/v1/assistants/{assistant_id}*")] + u),
        ("create body: name, firstMessage, metadata",
         ["-u", server.url("/v1/assistants"), "--method", "POST", "--data",
          json.dumps({"name": "bot", "firstMessage": "hi", "metadata": {"team": "a"}})]
         + u + json_header),
        ("patch body: name, firstMessage",
         ["-u", server.url(f"/v1/assistants/{assistant_id}"), "--method", "PATCH", "--data",
          json.dumps({"name": "bot2", "firstMessage": "hello"})] + u + json_header),
        ("sign-in body: email, password",
         ["-u", server.url("/auth/v1/token?grant_type=password"), "--method", "POST",
          "--data", json.dumps({"email": email, "password": PASSWORD})] + json_header),
        ("profile body: displayName",
         ["-u", server.url("/v1/profile"), "--method", "PATCH", "--data",
          json.dumps({"displayName": "me"})] + u + json_header),
        ("profile audit query: limit, cursor",
         ["-u", server.url("/v1/profile/audit?limit=5")] + u),
        ("admin users query: q, limit",
         ["-u", server.url("/v1/admin/users?q=sec&limit=5")] + a),
        ("admin audit query: action, actor, limit",
         ["-u", server.url("/v1/admin/audit?action=assistant.create&limit=5")] + a),
        ("GoTrue admin users query: page, per_page",
         ["-u", server.url("/auth/v1/admin/users?page=1&per_page=5")] + a),
    ]


def run_sqlmap(server, report, workdir, user, admin, assistant_id, email):
    before_500 = server.count_status(500)
    level = "1" if QUICK else "3"  # level 3 also injects into User-Agent and Referer
    risk = "1" if QUICK else "2"
    before_requests = server.requests_served()
    found = []
    started = time.monotonic()
    for name, args in sqlmap_targets(server, user, admin, assistant_id, email):
        out_dir = tempfile.mkdtemp(dir=workdir, prefix="sqlmap-")
        cmd = ["sqlmap", "--batch", f"--level={level}", f"--risk={risk}", "--threads=4",
               "--disable-coloring", "--flush-session", f"--output-dir={out_dir}",
               "-v", "1"] + args
        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        text = r.stdout + r.stderr
        if "identified the following injection point" in text or "is vulnerable" in text:
            found.append(name)
            print(text[-4000:])
        print(f"    sqlmap: {name}: "
              f"{'INJECTABLE' if name in found else 'nothing injectable'}", flush=True)
    answered_500 = server.count_status(500) - before_500
    total_requests = server.requests_served() - before_requests
    report.check("sqlmap: no injection point", not found,
                 f"10 endpoints, level {level} risk {risk}, {total_requests:.0f} requests, "
                 f"{time.monotonic() - started:.0f} s; injectable: {found or 'none'}")
    report.check("sqlmap: no 500 answers", answered_500 == 0,
                 f"{answered_500:.0f} answered 500")


# --- slow attacks ---------------------------------------------------------------------------

def idle_p99(client, samples):
    """The normal client's p99 with no attack, measured just before one: the machine's noise
    (other processes, the client itself) is then the same in both measurements."""
    return client.p99_ms(samples, seconds=5)[1]


def run_slowhttptest(target, args, length):
    """Starts the attack on `target` and returns once it holds connections there."""
    # The attacker shares this machine's cores with the server and the normal client; niced,
    # its own CPU use weighs less (from another machine it would not weigh at all).
    cmd = (["nice", "-n", "10", "slowhttptest", "-c", "1000", "-r", "200", "-l", str(length),
            "-p", "3"] + [a.replace("{url}", target.url("")) for a in args])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    wait_until(lambda: (target.gauge("assistantd_http_connections") or 0) >= 100, 15)
    return proc


SLOW_ATTACKS = (
    ("slowloris", ["-H", "-i", "10", "-u", "{url}/healthz"]),
    ("slow body", ["-B", "-i", "10", "-s", "65536", "-u", "{url}/v1/assistants"]),
    ("slow read", ["-X", "-k", "8", "-n", "5", "-w", "1", "-y", "4", "-z", "1",
                   "-u", "{url}/metrics"]),
)


def slow_attacks(server, decoy, report, client, samples):
    print("slow attacks (slowhttptest, 1,000 connections each):", flush=True)
    for name, args in SLOW_ATTACKS:
        slow_attack(server, decoy, report, client, name, args, samples)
    wait_until(lambda: (server.gauge("assistantd_http_connections") or 0) <= 2, 60)


def median(values):
    return sorted(values)[len(values) // 2]


def slow_attack(server, decoy, report, client, name, args, samples):
    """The normal client's p99 while the attack hits a decoy instance (the control: the same
    attacker on the same machine, so its CPU and the machine's noise are in both figures), then
    while it hits the server: the server's own slowdown is the ratio. Rounds alternate between
    the two and the medians of their p99s are compared: one burst of noise from elsewhere on
    the machine (it has two cores) moves one round's p99, not the median."""
    rounds, length = (3, 12) if QUICK else (5, 18)
    controls, ours, failures, held, cpu = [], [], 0, 0, 0.0
    for _ in range(rounds):
        proc = run_slowhttptest(decoy, args, length + 10)
        controls.append(client.p99_ms(samples, seconds=length / 2)[1])
        stop_attack(proc, decoy)
        proc = run_slowhttptest(server, args, length + 10)
        held = max(held, server.gauge("assistantd_http_connections") or 0)
        cpu = max(cpu, attack_cpu(server, seconds=2))
        _, p99, failed = client.p99_ms(samples, seconds=length / 2)
        ours.append(p99)
        failures += failed
        held = max(held, server.gauge("assistantd_http_connections") or 0)
        stop_attack(proc, server)
    control, p99 = median(controls), median(ours)
    # Counted besides the attacker's: the normal client's and the scrape's connections.
    ok = p99 <= 2 * control and failures == 0 and held <= MAX_PER_IP + 2 and cpu < 0.5
    report.check(f"slowhttptest {name}: normal client p99 within 2x", ok,
                 f"median p99 {p99:.2f} ms over {rounds} rounds "
                 f"({', '.join(f'{v:.2f}' for v in ours)}); attack on a decoy: {control:.2f} ms "
                 f"({', '.join(f'{v:.2f}' for v in controls)}); {failures} failed; attacker "
                 f"connections held {held:.0f} (cap {MAX_PER_IP}); server CPU under the attack "
                 f"alone {cpu * 100:.0f}%")


def stop_attack(proc, target):
    """Stops slowhttptest and waits until `target` has closed its connections."""
    proc.terminate()
    proc.wait()
    wait_until(lambda: (target.gauge("assistantd_http_connections") or 0) <= 2, 60)


# --- cardinality ----------------------------------------------------------------------------

def series(text):
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def cardinality_probe(server, report):
    before = server.metrics()
    rss0 = server.rss_kib()
    token_chars = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
    for i in range(2000):
        method = "".join(random.choices(token_chars, k=random.randint(32, 200)))
        path = "/" + "".join(random.choices(string.ascii_letters + "/", k=random.randint(8, 300)))
        with socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                      source_address=("127.0.0.4", 0)) as s:
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                      .encode())
            while s.recv(65536):
                pass
    after = server.metrics()
    growth = series(after) - series(before)
    size_growth = len(after) - len(before)
    rss_growth = (server.rss_kib() - rss0) / 1024
    # A handful of new series at most: the closed sets' "other" method and unmatched route,
    # with the statuses those get, and histogram buckets of those.
    ok = growth <= 64 and size_growth < 32 * 1024 and rss_growth < 16
    report.check("cardinality: random methods and paths add no series", ok,
                 f"2,000 requests; series {series(before)} -> {series(after)} (+{growth}), "
                 f"/metrics {len(before)} -> {len(after)} bytes, RSS +{rss_growth:.1f} MiB")


# --- connection floods ----------------------------------------------------------------------

def open_idle(source, count, port):
    socks = []
    for _ in range(count):
        try:
            s = socket.socket()
            s.bind((source, 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
        except OSError:
            break
    return socks


def flood(server, client, samples, socks_for, held_at_least):
    """Opens the flood's idle connections, measures the normal client and the server under it,
    closes them and waits for the server to see it. Returns the figures."""
    idle = idle_p99(client, samples)
    rss0 = server.rss_kib()
    socks = socks_for()
    wait_until(lambda: (server.gauge("assistantd_http_connections") or 0) >= held_at_least, 20)
    cpu = attack_cpu(server)
    p50, p99, failures = client.p99_ms(samples, seconds=10)
    text = server.metrics()
    figures = {
        "opened": len(socks), "idle": idle, "p50": p50, "p99": p99, "failures": failures,
        "cpu": cpu, "held": server.gauge("assistantd_http_connections", text) or 0,
        "refused": server.sum_series("assistantd_http_connections_refused_total{", text),
        "rss": (server.rss_kib() - rss0) / 1024,
    }
    for s in socks:
        s.close()
    wait_until(lambda: (server.gauge("assistantd_http_connections") or 0) <= 2, 30)
    return figures


def flood_check(report, name, f, cap, rss_bound):
    # The normal client's and the scrape's connections are counted too.
    ok = (f["held"] <= cap + 2 and f["p99"] <= 2 * f["idle"] and f["failures"] == 0
          and f["cpu"] < 0.5 and f["rss"] < rss_bound)
    report.check(name, ok,
                 f"{f['opened']} opened, {f['held']:.0f} held (cap {cap}), {f['refused']:.0f} "
                 f"refused in all; normal client p50 {f['p50']:.2f} ms, p99 {f['p99']:.2f} ms "
                 f"(idle {f['idle']:.2f} ms), {f['failures']} failed; server CPU under the "
                 f"flood alone {f['cpu'] * 100:.0f}%, RSS +{f['rss']:.1f} MiB")


def connection_floods(server, report, client, samples):
    # One address, far over its share.
    f = flood(server, client, samples, lambda: open_idle("127.0.0.5", 5000, server.port),
              MAX_PER_IP)
    flood_check(report, "flood from one address: per-address cap holds", f, MAX_PER_IP, 32)
    # Many addresses together, past the server-wide cap.
    f = flood(server, client, samples,
              lambda: [s for i in range(10, 18)
                       for s in open_idle(f"127.0.0.{i}", MAX_PER_IP, server.port)],
              MAX_CONNECTIONS)
    flood_check(report, "flood from 8 addresses: server-wide cap holds", f, MAX_CONNECTIONS, 64)


# --- main -----------------------------------------------------------------------------------

def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "assistantd")
    for tool in ("sqlmap", "slowhttptest"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (make security installs it)")
    raise_open_files()
    workdir = tempfile.mkdtemp(prefix="assistantd-security-")
    report = Report()
    server = Instance(binary, workdir)
    # The slow attacks' control: the same attack on another instance (see slow_attack).
    decoy = Instance(binary, tempfile.mkdtemp(dir=workdir, prefix="decoy-"))
    started = time.monotonic()
    try:
        email = "security-suite@example.com"
        status, body = server.request("POST", "/auth/v1/signup",
                                      {"email": email, "password": PASSWORD})
        assert status == 200, body
        user = json.loads(body)["access_token"]
        admin = subprocess.run(
            [binary, "token", "--role", "service_role", "--jwt-secret", JWT_SECRET,
             "--data-dir", os.path.join(workdir, "data")],
            capture_output=True, text=True, check=True).stdout.strip()
        for i in range(20):
            status, body = server.request("POST", "/v1/assistants",
                                          {"name": f"bot {i}", "firstMessage": "x" * 2000},
                                          token=user)
            assert status == 201, body
        assistant_id = json.loads(body)["id"]
        print(f"assistantd on 127.0.0.1:{server.port}, work dir {workdir}", flush=True)

        samples = 1000 if QUICK else 3000
        client = NormalClient(server, user, f"/v1/assistants/{assistant_id}")
        client.p99_ms(200)  # warm up
        if wanted("slow"):
            slow_attacks(server, decoy, report, client, samples)
        if wanted("cardinality"):
            print("cardinality probe:", flush=True)
            cardinality_probe(server, report)
        if wanted("floods"):
            print("connection floods:", flush=True)
            connection_floods(server, report, client, samples)
        if wanted("sqlmap"):
            print("sqlmap:", flush=True)
            run_sqlmap(server, report, workdir, user, admin, assistant_id, email)

        alive = server.request("GET", "/healthz")[0] == 200 and server.proc.poll() is None
        report.check("the server is alive afterwards", alive,
                     f"RSS {server.rss_kib() / 1024:.0f} MiB")
    finally:
        server.stop()
        decoy.stop()
    log = server.read_log()
    leaks = [name for name, secret in (("JWT secret", JWT_SECRET), ("master key", MASTER_KEY),
                                        ("password", PASSWORD), ("access token", user))
             if secret in log]
    report.check("no secret in the server's log", not leaks,
                 f"{len(log.splitlines())} log lines; found: {leaks or 'none'}")

    out = os.path.join(ROOT, "build", "security-report.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(f"# make security — {time.strftime('%Y-%m-%d %H:%M')}, "
                f"{time.monotonic() - started:.0f} s\n\n{report.text()}\n")
    print(f"\n{report.text()}\n\nreport: {out}")
    if report.failed():
        print(f"{len(report.failed())} check(s) FAILED")
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)
    print("all checks passed")


if __name__ == "__main__":
    main()
