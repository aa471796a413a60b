#!/usr/bin/env python3
# tests/tools/evctl_test.py
#
# evctl against a real eventd and redis-server, as a script would use it:
# exit codes (0 ok, 1 refused, 2 usage, 3 unreachable or timed out, 4 the
# service is failing), errors on stderr and nothing on stdout for them, JSON
# lines when stdout is not a terminal and text on one (--json / --human force
# either), every command's output checked against what Redis holds, and tail:
# type filters, --from, resuming across a kill -9 of eventd without losing or
# repeating an event, giving up, stopping on SIGTERM.
#
#   python3 tests/tools/evctl_test.py EVENTD_BINARY EVCTL_BINARY
#
# Python standard library only. Every wait polls against a deadline.
import http.client
import json
import os
import pty
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Eventd, RedisServer, free_port, wait_until  # noqa: E402

EVENTD, EVCTL = sys.argv[1], sys.argv[2]
STREAM = "tradpal_events"
WIRE_KEYS = {"event_type", "event_id", "timestamp", "source", "data", "metadata"}
MESSAGE_ID = re.compile(r"^\d+-\d+$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
COMMANDS = ("health", "types", "stats", "metrics", "publish", "list", "replay", "tail")
# The environment without the variables evctl reads: each run says what it wants.
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("EVENT_SERVICE_")}

checks = 0


def check(condition, what, shown=None):
    """One assertion; `shown` (a Result or a Tail) is printed with the failure."""
    global checks
    checks += 1
    if not condition:
        raise AssertionError(what if shown is None else f"{what}\n{shown}")


def env_for(url, **extra):
    e = dict(BASE_ENV, EVENT_SERVICE_URL=url)
    e.update(extra)
    return e


# ---- running evctl ---------------------------------------------------------------------

class Result:
    def __init__(self, args, returncode, stdout, stderr, seconds):
        self.args, self.returncode, self.stdout, self.stderr, self.seconds = args, returncode, stdout, stderr, seconds

    def __str__(self):
        return (f"$ evctl {shlex.join(self.args)}\nexit {self.returncode} after {self.seconds:.2f}s\n"
                f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}--- end ---")


def evctl(env, *args, timeout=15):
    args = [str(a) for a in args]
    began = time.monotonic()
    try:
        r = subprocess.run([EVCTL, *args], capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        def text(b):
            return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
        raise AssertionError(f"evctl did not exit within {timeout}s\n"
                             f"{Result(args, None, text(e.stdout), text(e.stderr), time.monotonic() - began)}")
    return Result(args, r.returncode, r.stdout, r.stderr, time.monotonic() - began)


def evctl_on_tty(env, *args, timeout=15):
    """evctl with its stdout on a pseudo-terminal (its default format is text there)."""
    args = [str(a) for a in args]
    master, slave = pty.openpty()
    began = time.monotonic()
    p = subprocess.Popen([EVCTL, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    try:
        while True:
            left = began + timeout - time.monotonic()
            if left <= 0:
                p.kill()
                raise AssertionError(f"evctl on a terminal did not finish within {timeout}s: {out!r}")
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal's other end closed it
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    rc = p.wait(max(0.1, began + timeout - time.monotonic()))
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    return Result(args + ["  (stdout on a terminal)"], rc, out.decode(errors="replace").replace("\r\n", "\n"), err,
                  time.monotonic() - began)


def expect_ok(r, what):
    check(r.returncode == 0, f"{what}: exit 0 expected", r)
    check(r.stderr == "", f"{what}: nothing on stderr expected", r)


def expect_error(r, code, what, stdout_empty=True):
    check(r.returncode == code, f"{what}: exit {code} expected", r)
    check(r.stderr.startswith("evctl:"), f"{what}: an error on stderr starting with 'evctl:' expected", r)
    if stdout_empty:
        check(r.stdout == "", f"{what}: nothing on stdout expected", r)


def json_lines(r, what):
    """stdout as JSON lines, each one object."""
    out = []
    check(r.stdout == "" or r.stdout.endswith("\n"), f"{what}: stdout ends with a newline", r)
    for line in r.stdout.splitlines():
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise AssertionError(f"{what}: a stdout line is not JSON ({e}): {line!r}\n{r}")
        check(isinstance(obj, dict), f"{what}: each stdout line is a JSON object", r)
        out.append(obj)
    return out


def one_json(r, what):
    lines = json_lines(r, what)
    check(len(lines) == 1, f"{what}: exactly one JSON line on stdout expected", r)
    return lines[0]


def check_event_line(obj, stored, what, shown):
    """A JSON-lines event: message_id plus exactly the wire keys, equal to the stored event."""
    check(set(obj) == WIRE_KEYS | {"message_id"}, f"{what}: keys message_id + {sorted(WIRE_KEYS)}, got {sorted(obj)}",
          shown)
    check(MESSAGE_ID.match(obj["message_id"]) is not None, f"{what}: message_id is a stream id", shown)
    wire = {k: v for k, v in obj.items() if k != "message_id"}
    check(wire == stored, f"{what}: the event as Redis holds it\n  printed {wire}\n  stored  {stored}", shown)


# ---- services ----------------------------------------------------------------------------

class SilentServer:
    """Accepts TCP connections and never answers; counts them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.peers = []
        self.probes = set()
        self.held = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, peer = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.held.append(s)
                self.peers.append(peer)

    def connections_before_now(self):
        """How many connections others made before this call: a probe
        connection of ours is accepted after every one already queued."""
        probe = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        me = probe.getsockname()
        self.probes.add(me)
        try:
            wait_until(lambda: me in self.peers, 5, "the silent server to accept our probe")
            with self.lock:
                return sum(1 for p in self.peers[:self.peers.index(me)] if p not in self.probes)
        finally:
            probe.close()

    def close(self):
        self.sock.close()
        with self.lock:
            for s in self.held:
                s.close()


class Eventd6(Eventd):
    """eventd listening on ::1 only (--host ::1)."""

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"eventd exited with {self.proc.returncode}: {self.output()}")
        try:
            socket.create_connection(("::1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def connection(self, timeout=10):
        return http.client.HTTPConnection("::1", self.port, timeout=timeout)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Tail:
    """`evctl tail ...` running, its stdout and stderr collected line by line."""

    def __init__(self, env, *args):
        self.args = ["tail", *[str(a) for a in args]]
        self.proc = subprocess.Popen([EVCTL, *self.args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.out, self.err = [], []
        self.readers = [threading.Thread(target=self._read, args=(s, dst), daemon=True)
                        for s, dst in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.readers:
            t.start()

    @staticmethod
    def _read(stream, dst):
        for line in stream:
            dst.append(line)

    def __str__(self):
        state = "running" if self.proc.poll() is None else f"exit {self.proc.returncode}"
        return (f"$ evctl {shlex.join(self.args)}  ({state})\n--- stdout ---\n{''.join(self.out)}"
                f"--- stderr ---\n{''.join(self.err)}--- end ---")

    def events(self):
        out = []
        for line in list(self.out):
            if not line.endswith("\n"):
                break  # still being written
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise AssertionError(f"tail printed a line that is not JSON ({e}): {line!r}\n{self}")
            check(isinstance(obj, dict) and "message_id" in obj, "tail prints JSON objects with a message_id", self)
            out.append(obj)
        return out

    def ids(self):
        return [e["message_id"] for e in self.events()]

    def wait_for(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return
            if self.proc.poll() is not None:
                for t in self.readers:
                    t.join(2)
                if condition():
                    return
                raise AssertionError(f"tail exited while waiting for {what}\n{self}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self}")
            time.sleep(0.01)

    def wait_for_id(self, message_id, timeout, what):
        self.wait_for(lambda: message_id in self.ids(), timeout, what)

    def stop(self, sig=signal.SIGTERM, timeout=5):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"tail still running {timeout}s after signal {sig}\n{self}")
        for t in self.readers:
            t.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for t in self.readers:
            t.join(5)


class Ctx:
    def __init__(self):
        self.redis = None
        self.eventd = None
        self.others = []  # other eventds and servers to close
        self.tails = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.eventd.port}"

    @property
    def env(self):
        return env_for(self.url)

    def entries(self, stream=STREAM):
        c = self.redis.client()
        try:
            return c.entries(stream)
        finally:
            c.close()

    def xlen(self, stream=STREAM):
        c = self.redis.client()
        try:
            return c.command("XLEN", stream)
        finally:
            c.close()

    def xadd(self, event, stream=STREAM):
        c = self.redis.client()
        try:
            return c.command("XADD", stream, "*", "event", json.dumps(event))
        finally:
            c.close()

    def publish(self, event_type, data=None, *extra, env=None):
        args = ["publish", event_type] + ([json.dumps(data)] if data is not None else []) + list(extra)
        r = evctl(env or self.env, *args)
        expect_ok(r, "publish")
        out = one_json(r, "publish")
        check(out.get("status") == "published", "publish: status 'published'", r)
        check(MESSAGE_ID.match(str(out.get("message_id"))) is not None, "publish: a message_id", r)
        check(UUID4.match(str(out.get("event_id"))) is not None, "publish: an event_id (uuid v4)", r)
        return out

    def tail(self, *args, env=None):
        t = Tail(env or self.env, *args)
        self.tails.append(t)
        return t


# ---- checks --------------------------------------------------------------------------------

def help_version_and_usage_errors(ctx, recorder):
    """All of these are answered by evctl alone: the recorder (a server that
    counts connections) must see none."""
    env = env_for(recorder.url)

    r = evctl(env, "--version")
    expect_ok(r, "--version")
    check(r.stdout.count("\n") == 1 and "evctl" in r.stdout, "--version: one line naming evctl", r)

    for flag in ("--help", "-h"):
        r = evctl(env, flag)
        expect_ok(r, flag)
        check(r.stdout.startswith("usage: evctl"), f"{flag}: usage on stdout", r)
        for c in COMMANDS:
            check(f"  evctl {c}" in r.stdout, f"{flag}: lists the command {c}", r)
        check("exit codes" in r.stdout, f"{flag}: states the exit codes", r)

    for c in COMMANDS:
        r = evctl(env, c, "--help")
        expect_ok(r, f"{c} --help")
        check(r.stdout.startswith(f"usage: evctl {c}"), f"{c} --help: that command's synopsis first", r)
        for other in COMMANDS:
            if other != c:
                check(f"usage: evctl {other}" not in r.stdout, f"{c} --help: not {other}'s synopsis", r)
    r = evctl(env, "tail", "-h")
    expect_ok(r, "tail -h")
    check("--give-up" in r.stdout and "--from" in r.stdout, "tail -h: tail's options", r)

    r = evctl(env)
    check(r.returncode == 2, "no arguments: exit 2", r)
    check(r.stdout == "", "no arguments: nothing on stdout", r)
    check("usage: evctl" in r.stderr, "no arguments: the usage on stderr", r)

    usage_errors = [
        (["frobnicate"], "unknown command"),
        (["--frobnicate", "health"], "unknown option"),
        (["list", "--bogus", "1"], "unknown option of a command"),
        (["list", "--limit"], "--limit without its value, at the end"),
        (["publish", "risk_alert", "--source"], "--source without its value"),
        (["publish", "risk_alert", "--source", ""], "--source with an empty value"),
        (["publish", "risk_alert", "--metadata"], "--metadata without its value"),
        (["list", "--limit", "0"], "--limit 0"),
        (["list", "--limit", "5000"], "--limit 5000"),
        (["list", "--limit", "abc"], "--limit abc"),
        (["list", "--limit", "-3"], "--limit -3"),
        (["list", "--type", "bogus"], "list --type bogus"),
        (["replay", "--type", "bogus"], "replay --type bogus"),
        (["tail", "--type", "bogus"], "tail --type bogus"),
        (["publish", "bogus"], "publish of an unknown type"),
        (["publish"], "publish without a type"),
        (["publish", "risk_alert", "{}", "extra"], "publish with a third argument"),
        (["publish", "risk_alert", '{"x": }'], "data that is not JSON"),
        (["publish", "risk_alert", "[1]"], "data that is a JSON array"),
        (["publish", "risk_alert", '"text"'], "data that is a JSON string"),
        (["publish", "risk_alert", '{"a": 1} trailing'], "data with text after the object"),
        (["publish", "risk_alert", "{}", "--metadata", "[1]"], "--metadata that is an array"),
        (["publish", "risk_alert", "{}", "--metadata", '{"x": }'], "--metadata that is not JSON"),
        (["health", "--limit", "5"], "an option the command does not take"),
        (["publish", "risk_alert", "--type", "risk_alert"], "publish --type"),
        (["tail", "--limit", "5"], "tail --limit"),
        (["list", "--from", "1-0"], "list --from"),
        (["list", "extra"], "list with an argument"),
        (["health", "extra"], "health with an argument"),
        (["tail", "--give-up", "abc"], "--give-up abc"),
        (["tail", "--from", "bogus"], "tail --from that is not a message id"),
        (["--timeout", "0", "health"], "--timeout 0"),
        (["--timeout", "abc", "health"], "--timeout abc"),
        (["health", "--timeout"], "--timeout without its value"),
        (["health", "--url"], "--url without its value"),
        (["--url", "https://x", "health"], "an https URL"),
        (["--url", "ftp://x", "health"], "an ftp URL"),
        (["--url", "http://host:99999", "health"], "a port above 65535"),
        (["--url", "http://::1:8011", "health"], "an unbracketed IPv6 URL"),
        (["--url", "https://x", "tail"], "tail with an https URL"),
    ]
    for args, what in usage_errors:
        r = evctl(env, *args)
        expect_error(r, 2, f"usage error ({what})")
    check(recorder.connections_before_now() == 0,
          "help, --version and usage errors must never connect to the service")


def read_commands(ctx):
    env = ctx.env
    r = evctl(env, "health")
    expect_ok(r, "health")
    h = one_json(r, "health")
    check(h.get("status") == "healthy", "health: status healthy", r)
    r = evctl(env, "--human", "health")
    expect_ok(r, "health --human")
    check(r.stdout.startswith("healthy"), "health --human: a 'healthy' line", r)

    r = evctl(env, "types")
    expect_ok(r, "types")
    types = one_json(r, "types").get("event_types")
    _, _, served = ctx.eventd.request("GET", "/events/types")
    served = served["event_types"] if isinstance(served, dict) else served
    check(types == served, f"types: the service's list {served}", r)
    check("risk_alert" in types and "trading_signal" in types, "types: includes risk_alert", r)
    r = evctl(env, "types", "--human")
    expect_ok(r, "types --human")
    check(r.stdout.split() == types, "types --human: one type a line", r)

    r = evctl(env, "stats")
    expect_ok(r, "stats")
    s = one_json(r, "stats")
    check(s.get("stream_length") == ctx.xlen(), f"stats: stream_length is XLEN ({ctx.xlen()})", r)
    r = evctl(env, "stats", "--human")
    expect_ok(r, "stats --human")
    check(re.search(rf"(?m)^stream_length\s+{ctx.xlen()}$", r.stdout) is not None, "stats --human: stream_length", r)

    r = evctl(env, "metrics")
    expect_ok(r, "metrics")
    m = re.search(r"(?m)^event_service_stream_length (\d+)$", r.stdout)
    check(m is not None, "metrics: Prometheus text with event_service_stream_length", r)
    check(int(m.group(1)) == ctx.xlen(), "metrics: event_service_stream_length is XLEN", r)
    check(r.stdout.startswith("# HELP") or r.stdout.startswith("# TYPE"), "metrics: Prometheus text", r)


def publish_and_list(ctx):
    env = ctx.env
    a = ctx.publish("risk_alert", {"level": "high", "n": 1}, "--source", "evctl-test", "--metadata",
                    json.dumps({"run": "a", "tags": ["x"]}))
    b = ctx.publish("trading_signal", {"symbol": "BTC/USDT", "action": "BUY"})
    c = ctx.publish("risk_alert")  # data defaults to {}
    entries = ctx.entries()
    by_id = dict(entries)
    for p, etype, data, source, metadata in ((a, "risk_alert", {"level": "high", "n": 1}, "evctl-test",
                                              {"run": "a", "tags": ["x"]}),
                                             (b, "trading_signal", {"symbol": "BTC/USDT", "action": "BUY"}, "api", {}),
                                             (c, "risk_alert", {}, "api", {})):
        stored = by_id.get(p["message_id"])
        check(stored is not None, f"publish {etype}: its message id {p['message_id']} is in Redis ({list(by_id)})")
        check(stored["event_type"] == etype and stored["event_id"] == p["event_id"] and stored["data"] == data
              and stored["source"] == source and stored["metadata"] == metadata,
              f"publish {etype}: Redis holds the event as published: {stored}")

    r = evctl(env, "--human", "publish", "risk_alert", json.dumps({"level": "low"}))
    expect_ok(r, "publish --human")
    check(r.stdout.startswith("published") and r.stdout.count("\n") == 1, "publish --human: one 'published' line", r)
    ids = re.findall(r"\d+-\d+", r.stdout)
    check(ids and ids[0] == ctx.entries()[-1][0], "publish --human: names the new entry's message id", r)

    r = evctl(env, "--human", "--json", "publish", "order_executed", "{}")
    expect_ok(r, "publish --human --json (the last wins)")
    check(one_json(r, "publish --json")["message_id"] == ctx.entries()[-1][0], "publish --json: the message id", r)

    # A usage error never reaches the service: the stream does not grow.
    before = ctx.xlen()
    r = evctl(env, "publish", "risk_alert", '{"x": }')
    expect_error(r, 2, "publish with data that is not JSON")
    r = evctl(env, "publish", "risk_alert", "{}", "--metadata", "[1]")
    expect_error(r, 2, "publish with --metadata that is not an object")
    r = evctl(env, "publish", "bogus", "{}")
    expect_error(r, 2, "publish of an unknown type")
    check(ctx.xlen() == before, f"usage errors publish nothing (XLEN {before} -> {ctx.xlen()})")

    entries = ctx.entries()
    check(len(entries) <= 100, "fewer entries than list's default limit")
    r = evctl(env, "list")
    expect_ok(r, "list")
    listed = json_lines(r, "list")
    check([e.get("message_id") for e in listed] == [i for i, _ in entries],
          f"list: every entry, oldest first, with the ids XRANGE gives {[i for i, _ in entries]}", r)
    for obj, (_, stored) in zip(listed, entries):
        check_event_line(obj, stored, "list", r)

    r = evctl(env, "list", "--limit", "2")
    expect_ok(r, "list --limit 2")
    check([e["message_id"] for e in json_lines(r, "list --limit 2")] == [i for i, _ in entries[-2:]],
          "list --limit 2: the two most recent, oldest first", r)
    r = evctl(env, "list", "--limit=1")
    expect_ok(r, "list --limit=1")
    check([e["message_id"] for e in json_lines(r, "list --limit=1")] == [entries[-1][0]], "list --limit=1", r)

    risk = [i for i, e in entries if e["event_type"] == "risk_alert"]
    r = evctl(env, "list", "--type", "risk_alert")
    expect_ok(r, "list --type risk_alert")
    got = json_lines(r, "list --type")
    check([e["message_id"] for e in got] == risk, f"list --type risk_alert: exactly those entries {risk}", r)
    both = [i for i, e in entries if e["event_type"] in ("risk_alert", "trading_signal")]
    r = evctl(env, "list", "--type", "risk_alert", "--type", "trading_signal")
    expect_ok(r, "list with two --type")
    check([e["message_id"] for e in json_lines(r, "list two types")] == both, "list with two --type: both", r)
    r = evctl(env, "list", "--start", "2000-01-01T00:00:00", "--limit", "1000")
    expect_ok(r, "list --start")
    check([e["message_id"] for e in json_lines(r, "list --start")] == [i for i, _ in entries],
          "list --start 2000: every entry", r)

    r = evctl(env, "--human", "list")
    expect_ok(r, "list --human")
    lines = r.stdout.splitlines()
    check(lines and lines[0].startswith("MESSAGE_ID"), "list --human: a header line starting MESSAGE_ID", r)
    check(lines[-1] == f"({len(entries)} events)", f"list --human: a final '({len(entries)} events)' line", r)
    check([ln.split()[0] for ln in lines[1:-1]] == [i for i, _ in entries], "list --human: a row per entry", r)

    # On a terminal the default is text; --json forces JSON lines there.
    r = evctl_on_tty(env, "list", "--limit", "3")
    check(r.returncode == 0, "list on a terminal: exit 0", r)
    lines = r.stdout.splitlines()
    check(lines and lines[0].startswith("MESSAGE_ID") and lines[-1] == "(3 events)",
          "list on a terminal: the table by default", r)
    r = evctl_on_tty(env, "--json", "list", "--limit", "3")
    check(r.returncode == 0, "list --json on a terminal: exit 0", r)
    check([e["message_id"] for e in json_lines(r, "list --json on a terminal")] == [i for i, _ in entries[-3:]],
          "list --json on a terminal: JSON lines", r)

    n = sum(1 for _, e in entries if e["event_type"] == "risk_alert")
    r = evctl(env, "replay", "--type", "risk_alert")
    expect_ok(r, "replay --type risk_alert")
    check(one_json(r, "replay") == {"status": "replay_complete", "events_replayed": n},
          f"replay --type risk_alert: {n} events replayed", r)
    r = evctl(env, "--human", "replay", "--type", "trading_signal")
    expect_ok(r, "replay --human")
    m = sum(1 for _, e in entries if e["event_type"] == "trading_signal")
    check(r.stdout == f"replayed {m} events\n", f"replay --human: 'replayed {m} events'", r)


def route_dry_run(ctx):
    """evctl route: each stored event with the rules it matches, the streams
    it would be copied to and the tags; per-rule counts; nothing written."""
    env = ctx.env
    ctx.publish("order_executed", {"symbol": "BTCUSDT", "quantity": 500})
    ctx.publish("order_executed", {"symbol": "AAPL", "quantity": 5})
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump({"rules": [
                {"name": "big", "when": {"all": [{"field": "type", "eq": "order_executed"},
                                                 {"field": "data.quantity", "gte": 100}]},
                 "copy_to": "orders_big", "tag": {"desk": "block"}},
                {"name": "alerts", "when": {"field": "type", "eq": "risk_alert"}, "copy_to": ["alerts", "audit"]},
            ]}, f)
        entries = ctx.entries()
        before = ctx.xlen()
        r = evctl(env, "--json", "route", "--rules", rules, "--limit", "1000")
        expect_ok(r, "route --rules")
        lines = json_lines(r, "route")
        summary = lines.pop()
        check([ln["message_id"] for ln in lines] == [i for i, _ in entries], "route: a line per stored event", r)
        want = {"big": 0, "alerts": 0}
        for ln, (_, e) in zip(lines, entries):
            big = e["event_type"] == "order_executed" and isinstance(e["data"].get("quantity"), int) \
                and e["data"]["quantity"] >= 100
            alert = e["event_type"] == "risk_alert"
            want["big"] += big
            want["alerts"] += alert
            check(ln["rules"] == ["big"] * big + ["alerts"] * alert and ln["event_id"] == e["event_id"],
                  f"route: the rules {e['event_type']} {e['data']} matches", r)
            check(ln["copy_to"] == ["orders_big"] * big + ["alerts", "audit"] * alert, "route: its targets", r)
            check(ln["tags"] == ({"desk": "block"} if big else {}), "route: its copies' tags", r)
        check(want["big"] >= 1 and want["alerts"] >= 1, "route: both rules matched something")
        check(summary == {"examined": len(entries), "copied": want["big"] + want["alerts"], "matches": want},
              f"route: the summary counts {want}", r)
        check(ctx.xlen() == before and ctx.xlen("orders_big") == 0 and ctx.xlen("alerts") == 0,
              "route writes nothing")
        r = evctl(env, "--human", "route", "--rules", rules, "--type", "order_executed")
        expect_ok(r, "route --human --type")
        check("RULE" in r.stdout and "would be copied" in r.stdout and "orders_big" in r.stdout, "route --human", r)
        with open(rules, "w") as f:
            f.write('{"rules": [{"name": "x", "copy_to": "y", "when": {"field": "data.q", "gt": true}}]}')
        r = evctl(env, "route", "--rules", rules)
        expect_error(r, 2, "route with a broken rules file")
        check("rules[0].when.gt: expected a number or a string" in r.stderr, "route names the place in the file", r)
        expect_error(evctl(env, "route"), 2, "route without --rules")


def refused_unreachable_and_urls(ctx, silent):
    env = ctx.env
    # 4xx from the service: exit 1.
    r = evctl(env, "list", "--start", "not-a-time")
    expect_error(r, 1, "list --start not-a-time (the service answers 422)")
    check("422" in r.stderr, "the 4xx status is named on stderr", r)

    dead = free_port()
    dead_env = env_for(f"http://127.0.0.1:{dead}")
    for args in (["health"], ["list"], ["publish", "risk_alert", "{}"], ["--human", "stats"], ["metrics"]):
        r = evctl(dead_env, *args)
        expect_error(r, 3, f"{' '.join(args)} against a port nobody listens on")

    # --url wins over EVENT_SERVICE_URL, both ways.
    r = evctl(dead_env, "--url", ctx.url, "health")
    expect_ok(r, "--url to eventd, EVENT_SERVICE_URL to a dead port")
    check(one_json(r, "--url health")["status"] == "healthy", "--url: eventd's health", r)
    r = evctl(env, "--url", f"http://127.0.0.1:{dead}", "health")
    expect_error(r, 3, "--url to a dead port, EVENT_SERVICE_URL to eventd")
    r = evctl(BASE_ENV, "--url", ctx.url + "/", "types")
    expect_ok(r, "--url with a trailing slash")

    # IPv6 literals parse: against a dead port that is "unreachable", not a usage error.
    r = evctl(BASE_ENV, "--url", f"http://[::1]:{dead}", "health")
    expect_error(r, 3, "--url http://[::1]:<dead port>")

    # A server that accepts and never answers: --timeout bounds the wait.
    for args in (["health"], ["list"]):
        r = evctl(env_for(silent.url), "--timeout", "0.5", *args, timeout=20)
        expect_error(r, 3, f"{args[0]} against a server that never answers, --timeout 0.5")
        check(r.seconds < 4, f"{args[0]} with --timeout 0.5 gives up within a few seconds", r)
    r = evctl(env_for(silent.url), "--timeout", "0.5", "publish", "risk_alert", "{}", timeout=20)
    expect_error(r, 3, "publish against a server that never answers, --timeout 0.5")
    check(r.seconds < 4, "publish with --timeout 0.5 gives up within a few seconds", r)
    check("may have been published" in r.stderr, "publish that timed out says the event may have been published", r)


def ipv6_and_token(ctx):
    if not ipv6_loopback():
        print("evctl: no IPv6 loopback here: eventd on [::1] not checked")
        return
    d6 = Eventd6(EVENTD, ctx.redis.url, args=["--host", "::1", "--stream", "evctl_v6", "--token", "s3cret"])
    ctx.others.append(d6)
    d6.wait_healthy()
    url6 = f"http://[::1]:{d6.port}"
    r = evctl(BASE_ENV, "--url", url6, "health")
    expect_ok(r, "health over IPv6")
    check(one_json(r, "health v6")["status"] == "healthy", "health over IPv6: healthy", r)
    r = evctl(BASE_ENV, "--url", url6, "--human", "health")
    expect_ok(r, "health --human over IPv6")
    check(f"[::1]:{d6.port}" in r.stdout, "health --human names the bracketed IPv6 address", r)
    # POST needs the bearer token: without it the service refuses (exit 1).
    before = ctx.xlen("evctl_v6")
    r = evctl(BASE_ENV, "--url", url6, "publish", "risk_alert", "{}")
    expect_error(r, 1, "publish without the service's token")
    check("401" in r.stderr, "publish without the token: the 401 is named", r)
    check(ctx.xlen("evctl_v6") == before, "a refused publish stores nothing")
    r = evctl(dict(BASE_ENV, EVENT_SERVICE_TOKEN="wrong"), "--url", url6, "publish", "risk_alert", "{}")
    expect_error(r, 1, "publish with a wrong token")
    p = ctx.publish("risk_alert", {"v6": True}, env=env_for(url6, EVENT_SERVICE_TOKEN="s3cret"))
    entries = ctx.entries("evctl_v6")
    check(entries and entries[-1][0] == p["message_id"] and entries[-1][1]["data"] == {"v6": True},
          f"publish over IPv6 with the token: stored in evctl_v6 ({entries})")
    r = evctl(env_for(url6), "list")
    expect_ok(r, "list over IPv6")
    check([e["message_id"] for e in json_lines(r, "list v6")] == [i for i, _ in entries], "list over IPv6", r)
    check(d6.terminate() == 0, f"eventd on ::1 exits 0 on SIGTERM: {d6.output()}")


def failing_service(ctx):
    """eventd whose Redis is not there: /health answers 503 unhealthy."""
    u = Eventd(EVENTD, f"redis://127.0.0.1:{free_port()}")
    ctx.others.append(u)
    wait_until(lambda: u.request("GET", "/health")[0] == 503, 10, "eventd without Redis to answer /health 503")
    status, _, body = u.request("GET", "/health")
    check(status == 503 and body.get("status") == "unhealthy", f"eventd without Redis: 503 unhealthy ({body})")
    env = env_for(f"http://127.0.0.1:{u.port}")
    r = evctl(env, "health")
    expect_error(r, 4, "health of a service that says it is unhealthy", stdout_empty=False)
    check(one_json(r, "health unhealthy").get("status") == "unhealthy", "health: the report on stdout", r)
    check("unhealthy" in r.stderr, "health: stderr says unhealthy", r)
    r = evctl(env, "--human", "health")
    expect_error(r, 4, "health --human, unhealthy", stdout_empty=False)
    check(r.stdout.startswith("unhealthy"), "health --human: an 'unhealthy' line", r)
    for args in (["publish", "risk_alert", "{}"], ["list"], ["stats"]):
        r = evctl(env, *args)
        expect_error(r, 4, f"{args[0]} answered 5xx")
        check("503" in r.stderr, f"{args[0]}: the 5xx status is named", r)
    u.close()


def tail_synced(ctx, tail, etype):
    """Publishes probe events of `etype` until the tail prints one: from then
    on it is live and has every later event. Returns the probes' ids."""
    probes = []
    deadline = time.monotonic() + 10
    while True:
        probes.append(ctx.publish(etype, {"probe": len(probes)})["message_id"])
        try:
            tail.wait_for_id(probes[-1], 0.5, "a probe event")
            break
        except AssertionError:
            if tail.proc.poll() is not None or time.monotonic() >= deadline:
                raise
    printed = tail.ids()
    check(printed == probes[len(probes) - len(printed):],
          f"tail: the probes it printed are the latest ones, once each, in order ({probes})", tail)
    return probes


def tail_type_filter(ctx):
    tail = ctx.tail("--type", "risk_alert")
    tail_synced(ctx, tail, "risk_alert")
    seen = len(tail.events())
    x1 = ctx.publish("risk_alert", {"n": 1}, "--source", "tail-test", "--metadata", '{"m": 1}')
    ctx.publish("trading_signal", {"n": 2})
    x2 = ctx.publish("risk_alert", {"n": 3})
    ctx.publish("market_data_update", {"n": 4})
    x3 = ctx.publish("risk_alert", {"n": 5})
    tail.wait_for_id(x3["message_id"], 10, "the third risk_alert in tail")
    new = tail.events()[seen:]
    check([e["message_id"] for e in new] == [x["message_id"] for x in (x1, x2, x3)],
          "tail --type risk_alert: each risk_alert once, in order, and no other type", tail)
    stored = dict(ctx.entries())
    for e, x in zip(new, (x1, x2, x3)):
        check_event_line(e, stored[e["message_id"]], "tail --type risk_alert", tail)
        check(e["event_id"] == x["event_id"], "tail: the published event id", tail)
    check(all(e["event_type"] == "risk_alert" for e in tail.events()), "tail --type: risk_alert only", tail)
    check(new[0]["source"] == "tail-test" and new[0]["metadata"] == {"m": 1} and new[0]["data"] == {"n": 1},
          "tail: source, metadata, data as published", tail)
    rc = tail.stop(signal.SIGTERM)
    check(rc == 0, f"tail exits 0 on SIGTERM (got {rc})", tail)
    check(not any(ln.startswith("evctl:") for ln in tail.err), "tail said nothing on stderr", tail)


def tail_resumes_across_a_kill(ctx):
    tail = ctx.tail("--give-up", "30")
    tail_synced(ctx, tail, "system_health")
    seen = len(tail.events())
    a = ctx.publish("risk_alert", {"step": "A"})
    tail.wait_for_id(a["message_id"], 10, "event A")

    port = ctx.eventd.port
    ctx.eventd.proc.kill()  # kill -9
    ctx.eventd.proc.wait(10)
    ctx.eventd.close()
    tail.wait_for(lambda: any("stream lost" in ln for ln in tail.err), 10, "tail to see the stream lost")
    b_event = {"event_type": "order_executed", "event_id": "7d4c1f2a-3b5e-4c6d-8e9f-0a1b2c3d4e5f",
               "timestamp": "2026-11-30T10:00:00.123456", "source": "python_service",
               "data": {"step": "B", "qty": 1.5}, "metadata": {"via": "redis"}}
    b_id = ctx.xadd(b_event)  # written while no eventd runs
    ctx.eventd = Eventd(EVENTD, ctx.redis.url, port=port)  # the same port: tail's URL
    ctx.eventd.wait_healthy()
    c = ctx.publish("risk_alert", {"step": "C"})
    tail.wait_for_id(c["message_id"], 15, "event C after the restart")

    new = tail.events()[seen:]
    check([e["message_id"] for e in new] == [a["message_id"], b_id, c["message_id"]],
          f"tail across kill -9: A, B (written to Redis meanwhile) and C, each once, in order "
          f"({a['message_id']}, {b_id}, {c['message_id']})", tail)
    stored = dict(ctx.entries())
    for e in new:
        check_event_line(e, stored[e["message_id"]], "tail across a restart", tail)
    check(new[1]["data"] == {"step": "B", "qty": 1.5} and new[1]["event_id"] == b_event["event_id"],
          "tail: B as written into Redis", tail)
    check(any("stream resumed" in ln for ln in tail.err), "tail says on stderr that the stream resumed", tail)
    rc = tail.stop(signal.SIGTERM)
    check(rc == 0, f"tail exits 0 on SIGTERM after the restart (got {rc})", tail)
    check(tail.ids()[seen:] == [a["message_id"], b_id, c["message_id"]], "tail printed nothing more", tail)


def tail_from(ctx):
    entries = ctx.entries()
    check(len(entries) >= 6, "enough stored events for tail --from")
    k = len(entries) // 2
    start = entries[k][0]
    tail = ctx.tail("--from", start, "--give-up", "10")
    tail.wait_for_id(entries[-1][0], 10, "tail --from to reach the stream's last stored entry")
    d = ctx.publish("backtest_complete", {"live": True})
    tail.wait_for_id(d["message_id"], 10, "a live event after the stored ones")
    expected = [i for i, _ in entries[k + 1:]] + [d["message_id"]]
    check(tail.ids() == expected, f"tail --from {start}: the stored events after it, then live ones ({expected})", tail)
    stored = dict(ctx.entries())
    for e in tail.events():
        check_event_line(e, stored[e["message_id"]], "tail --from", tail)
    rc = tail.stop(signal.SIGINT)
    check(rc == 0, f"tail exits 0 on SIGINT (got {rc})", tail)

    # --from with a type: only that type after the id.
    tail = ctx.tail("--from", entries[0][0], "--type", "risk_alert", "--human")
    risk = [i for i, e in ctx.entries()[1:] if e["event_type"] == "risk_alert"]
    tail.wait_for(lambda: sum(1 for ln in tail.out if ln.endswith("\n")) >= len(risk), 10,
                  f"tail --from --type --human to print {len(risk)} lines")
    firsts = [ln.split()[0] for ln in tail.out]
    check(firsts == risk and all(" risk_alert " in ln for ln in tail.out),
          "tail --human: a text line per risk_alert event, starting with its message id", tail)
    rc = tail.stop(signal.SIGTERM)
    check(rc == 0, f"tail --human exits 0 on SIGTERM (got {rc})", tail)


def tail_gives_up(ctx, silent):
    dead = free_port()
    began = time.monotonic()
    r = evctl(BASE_ENV, "--url", f"http://127.0.0.1:{dead}", "tail", "--give-up", "2", timeout=30)
    check(r.returncode == 3, "tail --give-up 2 against a dead port: exit 3", r)
    check(time.monotonic() - began < 6, "tail --give-up 2 against a dead port: gives up within ~6 s", r)
    check(r.stdout == "", "tail that gave up: nothing on stdout", r)
    check(r.stderr.startswith("evctl:") and "gave up" in r.stderr, "tail that gave up says so on stderr", r)

    # A server that accepts and never answers: no stream either, so the same
    # give-up applies (and --timeout bounds the wait for the answer).
    try:
        r = evctl(env_for(silent.url), "--timeout", "0.5", "tail", "--give-up", "2", timeout=10)
    except AssertionError as e:
        raise AssertionError("tail --give-up 2 --timeout 0.5 against a server that never answers: "
                             f"exit 3 within ~6 s expected\n{e}")
    check(r.returncode == 3, "tail --give-up 2 --timeout 0.5 against a server that never answers: exit 3", r)
    check(r.seconds < 6, "tail --give-up 2 --timeout 0.5 against a server that never answers: gives up within ~6 s",
          r)
    check(r.stdout == "" and "gave up" in r.stderr, "tail that gave up says so on stderr only", r)


SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def validate_offline():
    """evctl validate: the recorded events pass the default schemas; broken
    ones are named by line and path; without --schemas it is a usage error."""
    env = env_for("http://127.0.0.1:9")  # no service is asked
    with tempfile.TemporaryDirectory() as tmp:
        good = os.path.join(tmp, "good.jsonl")
        with open(os.path.join(FIXTURES, "tradpal_stream.jsonl")) as src, open(good, "w") as dst:
            for line in src:
                dst.write(json.loads(line)["fields"]["event"] + "\n")
        r = evctl(env, "--json", "validate", good, "--schemas", SCHEMAS)
        expect_ok(r, "validate the recorded events")
        summary = one_json(r, "validate summary")
        check(summary["invalid"] == 0 and summary["checked"] >= 19, "every recorded event passes", r)
        bad = os.path.join(tmp, "bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"event_type": "market_data_update", "data": {"symbol": "A", "price": -1}}\n\n')
            f.write('{"event_type": "trading_signal", "data": {"action": "BUY"}}\n')
            f.write('{"event_type": "portfolio_update", "data": {"positions": [{"qty": "x"}]}}\n')
        r = evctl(env, "--json", "validate", bad, "--schemas", SCHEMAS)
        check(r.returncode == 1, "an invalid event: exit 1", r)
        lines = json_lines(r, "validate failures")
        check([(o["line"], o["path"]) for o in lines[:-1]] == [(1, "/price"), (4, "/positions/0/qty")],
              "each failing line with its path into data", r)
        check(lines[-1] == {"checked": 3, "invalid": 2, "without_schema": 0}, "the summary", r)
        r = evctl(env, "--human", "validate", bad, "--schemas", SCHEMAS)
        check("line 1: market_data_update: data/price: must be > 0" in r.stdout, "human form", r)
        expect_error(evctl(env, "validate", bad), 2, "validate without --schemas")
        expect_error(evctl(env, "validate", os.path.join(tmp, "absent"), "--schemas", SCHEMAS), 2, "no such file")


def main():
    began = time.monotonic()
    ctx = Ctx()
    silent = SilentServer()
    recorder = SilentServer()
    try:
        help_version_and_usage_errors(ctx, recorder)
        validate_offline()
        ctx.redis = RedisServer()
        ctx.eventd = Eventd(EVENTD, ctx.redis.url)
        ctx.eventd.wait_healthy()
        read_commands(ctx)
        publish_and_list(ctx)
        route_dry_run(ctx)
        refused_unreachable_and_urls(ctx, silent)
        ipv6_and_token(ctx)
        failing_service(ctx)
        tail_type_filter(ctx)
        tail_resumes_across_a_kill(ctx)
        tail_from(ctx)
        check(ctx.eventd.terminate() == 0, f"eventd exits 0 on SIGTERM: {ctx.eventd.output()}")
        tail_gives_up(ctx, silent)
        print(f"evctl: all checks passed ({checks} checks, {time.monotonic() - began:.1f}s)")
        return 0
    finally:
        for t in ctx.tails:
            t.kill()
        for o in ctx.others:
            o.close()
        if ctx.eventd:
            ctx.eventd.close()
        if ctx.redis:
            ctx.redis.close()
        silent.close()
        recorder.close()


if __name__ == "__main__":
    sys.exit(main())
