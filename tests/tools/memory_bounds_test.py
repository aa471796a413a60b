#!/usr/bin/env python3
# tests/tools/memory_bounds_test.py
#
# eventd's memory bounds as invariants. eventd runs with small limits so
# that each can be reached in seconds; its resident memory is sampled every
# 50 ms while a phase pushes on one of them, and the peak must stay under a
# bound computed here from the configured limits:
#
#   a) connections pipelining GET /events and never reading the answers
#   b) stream clients that never read while events are published
#   c) large events, close to the body limit, published concurrently
#   d) clients trickling their header section a byte at a time
#
# Each phase runs on a fresh eventd whose baseline is measured after a
# warm-up, and stops early once the bound is passed. After each phase its
# clients close; eventd's memory must come back near the baseline within a
# few seconds, and /health must answer 200.
#
# Run by meson:  memory_bounds_test.py <eventd> [fixtures dir]
# MEMORY_BOUNDS_ONLY=<a|b|c|d> runs one phase.
# Standard library only. Not for sanitizer builds (their shadow memory and
# quarantine make RSS meaningless): it refuses to run against one.
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Eventd, RedisServer, SseClient, read_answers, rss_kib, wait_until  # noqa: E402

EVENTD = sys.argv[1]
KiB = 1024
MiB = 1024 * KiB

# The limits eventd runs with (README's settings table).
MAX_UNSENT = 256 * KiB      # EVENT_SERVICE_MAX_UNSENT_BYTES
STREAM_UNSENT = 128 * KiB   # EVENT_SERVICE_STREAM_UNSENT_BYTES
MAX_BODY = 256 * KiB        # EVENT_SERVICE_MAX_BODY_BYTES
MAX_HEADER = 8 * KiB        # EVENT_SERVICE_MAX_HEADER_BYTES
PERSIST_BUFFER = 2 * MiB    # EVENT_SERVICE_PERSIST_BUFFER_BYTES
RING = 2 * MiB              # EVENT_SERVICE_RING_SIZE (a power of two >= 1 MiB)
MAX_CONNECTIONS = 512       # EVENT_SERVICE_MAX_CONNECTIONS: above every phase's count
ENV = {
    "EVENT_SERVICE_MAX_UNSENT_BYTES": str(MAX_UNSENT),
    "EVENT_SERVICE_STREAM_UNSENT_BYTES": str(STREAM_UNSENT),
    "EVENT_SERVICE_MAX_BODY_BYTES": str(MAX_BODY),
    "EVENT_SERVICE_MAX_HEADER_BYTES": str(MAX_HEADER),
    "EVENT_SERVICE_PERSIST_BUFFER_BYTES": str(PERSIST_BUFFER),
    "EVENT_SERVICE_RING_SIZE": str(RING),
    "EVENT_SERVICE_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    # No client is dropped for stalling or idling while a phase runs: the
    # phases close their clients themselves.
    "EVENT_SERVICE_STREAM_STALL_MS": "30000",
    "EVENT_SERVICE_IDLE_TIMEOUT_MS": "30000",
}

# Fixed costs of eventd's own code (connection.h, request_reader.h, README
# "Memory bounds"): what the limits above do not cover.
READ_BUFFER = 64 * KiB      # each connection's read buffer
BACKLOG = 64 * KiB          # bytes of one read waiting unparsed (at most one read)
MAX_PIPELINED = 16          # requests of a connection awaiting answers
# A connection's own objects (libuv handles, parser, request, exchanges) and
# malloc's per-chunk overhead and rounding on what it holds.
PER_CONNECTION = 16 * KiB
# Once per process, whatever the phase: eventd's four or five Redis
# connections each keep a reply arena of up to 2 MiB between replies
# (README), and each of its threads has a malloc arena whose free pages are
# not all given back.
PROCESS_SLACK = 16 * MiB
# Publishing holds the events waiting for Redis (persist buffer) and, for a
# burst on its way, the XADD commands built from them; and the ring.
PUBLISHING = 2 * PERSIST_BUFFER + RING

A_CONNECTIONS = 100
B_CLIENTS = 100
C_CLIENTS = 8
C_EVENTS_EACH = 12
D_CLIENTS = 200

SAMPLE_S = 0.05
SETTLE_S = 5.0  # how long eventd may take to give memory back after a phase


def mib(kib_or_bytes, unit=KiB):
    return kib_or_bytes * unit / MiB


class Sampler:
    """Samples eventd's RSS every SAMPLE_S in a thread: the peak in KiB, and
    `exceeded` set once it passes `limit` KiB (a phase then stops early: the
    bound is broken, and going on would only take more of the machine)."""

    def __init__(self, pid, limit):
        self.pid, self.limit, self.peak, self.samples = pid, limit, 0, 0
        self.exceeded = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        self.peak = max(self.peak, rss_kib(self.pid))
        self.samples += 1
        if self.peak > self.limit:
            self.exceeded.set()

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(SAMPLE_S)

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def settled_rss(pid, seconds=0.5):
    """The median of RSS samples over `seconds`, in KiB."""
    values = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        values.append(rss_kib(pid))
        time.sleep(SAMPLE_S)
    return sorted(values)[len(values) // 2]


def post_wire(event_type, data):
    body = json.dumps({"event_type": event_type, "data": data}).encode()
    return (b"POST /events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def publish(port, events, per_burst=16):
    """Publishes (event_type, data) pairs pipelined, `per_burst` at a time;
    returns the answers' statuses."""
    statuses = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        for i in range(0, len(events), per_burst):
            burst = events[i:i + per_burst]
            s.sendall(b"".join(post_wire(t, d) for t, d in burst))
            statuses += [status for status, _ in read_answers(s, len(burst))]
    return statuses


def in_threads(calls, timeout=60):
    """Runs each (function, args) in its own thread; what they raised."""
    errors = []

    def guarded(fn, args):
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - reported by the phase
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=guarded, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors


def slow_reader_socket(port):
    """A connection that takes almost nothing off eventd's hands: a 4 KiB
    receive buffer, and a 536-byte MSS so that the kernel's send buffer on
    eventd's side (which grows with the MSS: to 4 MiB on loopback) stays
    near 128 KiB. What eventd cannot send then waits in eventd's memory."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    s.connect(("127.0.0.1", port))
    return s


def stream_client(port):
    """A stream client that reads its answer's head and the ": connected"
    comment, then nothing more."""
    s = slow_reader_socket(port)
    s.settimeout(10)
    s.sendall(b"GET /events/stream HTTP/1.1\r\nHost: t\r\n\r\n")
    buf = b""
    while b": connected" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError(f"stream closed before it was live: {buf!r}")
        buf += chunk
    if not buf.startswith(b"HTTP/1.1 200 "):
        raise AssertionError(f"stream refused: {buf[:200]!r}")
    return s


def cpu_ticks(pid):
    """User + system CPU time of process `pid`, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_idle(pid, stop, idle_s=1.0, limit_s=10.0):
    """Waits until `pid` has used (almost) no CPU for `idle_s` (True), or
    `stop` is set or time is up."""
    deadline = time.monotonic() + limit_s
    window = [(time.monotonic(), cpu_ticks(pid))]
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(SAMPLE_S)
        window.append((time.monotonic(), cpu_ticks(pid)))
        while window[-1][0] - window[0][0] > idle_s:
            if window[-1][1] - window[1][1] <= 2 and window[-1][0] - window[1][0] >= idle_s:
                return True
            window.pop(0)
    return False


def push_until_held(socks, payload, stop, held_after=1.0, limit_s=10.0):
    """Sends `payload` on every socket, without reading, until none has taken
    a byte for `held_after` s (True), or `stop` is set or time is up."""
    for s in socks:
        s.setblocking(False)
    last = [time.monotonic()] * len(socks)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and not stop.is_set():
        moved = False
        for i, s in enumerate(socks):
            try:
                if s.send(payload) > 0:
                    last[i] = time.monotonic()
                    moved = True
            except BlockingIOError:
                pass
        if all(time.monotonic() - t > held_after for t in last):
            return True
        if not moved:
            time.sleep(0.01)
    return False


def metric(eventd, pattern):
    status, _, text = eventd.request("GET", "/metrics", raw=True)
    m = re.search(pattern + r" (\S+)", text)
    return float(m.group(1)) if status == 200 and m else 0.0


class Run:
    """One redis-server; a fresh eventd (and baseline) for every phase, so
    that what one phase leaves in malloc's free lists is not counted against
    the next."""

    def __init__(self):
        self.redis = RedisServer()
        self.eventd = None
        self.baseline = 0
        self.failures = []
        self.fresh = False   # no phase has run on this eventd yet
        self.broken = False  # a phase failed on this eventd

    @property
    def port(self):
        return self.eventd.port

    @property
    def pid(self):
        return self.eventd.proc.pid

    def stop_eventd(self):
        """SIGTERM, and exit status 0 expected; killed instead after a phase
        that failed (it may still be busy with what broke the bound)."""
        if not self.eventd:
            return
        try:
            if not self.broken and self.eventd.terminate() != 0:
                self.failures.append("eventd did not exit 0 on SIGTERM")
        except subprocess.TimeoutExpired:
            self.failures.append("eventd did not exit within 15 s of SIGTERM")
        self.eventd.close()
        self.eventd = None

    def start_eventd(self):
        """False when eventd runs under AddressSanitizer (meson does not
        register this test in sanitizer builds)."""
        self.stop_eventd()
        self.eventd = Eventd(EVENTD, self.redis.url, env=ENV)
        self.eventd.wait_healthy()
        with open(f"/proc/{self.pid}/maps") as f:
            if "libasan" in f.read():
                return False
        warm_up(self.eventd)
        time.sleep(0.5)
        self.baseline = settled_rss(self.pid)
        self.fresh, self.broken = True, False
        return True

    def after_bound(self):
        # What eventd may keep once a phase's clients are gone: a quarter more
        # than the baseline for allocator pools grown to the phase's high
        # water mark, plus 16 MiB of free pages malloc keeps in its arenas.
        return self.baseline * 1.25 + 16 * MiB / KiB

    def phase(self, name, bound, body):
        """On a fresh eventd, runs `body(sampler)` (which closes its clients
        before it returns) while sampling RSS; checks the peak against
        baseline + `bound` bytes, then the return near the baseline within
        SETTLE_S, then /health."""
        if os.environ.get("MEMORY_BOUNDS_ONLY", name[0]) != name[0]:
            return
        if not self.fresh:
            self.start_eventd()
        self.fresh = False
        failed_before = len(self.failures)
        bound_kib = self.baseline + bound / KiB
        with Sampler(self.pid, bound_kib) as sampler:
            notes = body(sampler)
        after_limit = self.after_bound()
        try:
            wait_until(lambda: rss_kib(self.pid) <= after_limit, SETTLE_S, "RSS to come back")
        except AssertionError:
            pass
        after = rss_kib(self.pid)
        print(f"{name}: bound {mib(bound_kib):.1f} MiB, peak {mib(sampler.peak):.1f} MiB, after {mib(after):.1f} MiB"
              f" (baseline {mib(self.baseline):.1f}, after-limit {mib(after_limit):.1f}; {sampler.samples} samples;"
              f" {notes})", flush=True)
        if sampler.peak > bound_kib:
            self.failures.append(f"{name}: peak {mib(sampler.peak):.1f} MiB over the bound {mib(bound_kib):.1f} MiB"
                                 + (" (stopped there)" if sampler.exceeded.is_set() else ""))
        if after > after_limit:
            self.failures.append(f"{name}: RSS {mib(after):.1f} MiB {SETTLE_S:.0f} s after the phase, over "
                                 f"{mib(after_limit):.1f} MiB")
        try:
            status = self.eventd.request("GET", "/health")[0]
        except OSError as e:
            status = f"nothing ({e})"
        if status != 200:
            self.failures.append(f"{name}: /health answered {status} after the phase")
        self.broken = len(self.failures) > failed_before

    def close(self):
        self.stop_eventd()
        self.redis.close()


def warm_up(eventd):
    """Every path the phases use, once, so that the baseline includes what
    eventd allocates for good on first use (thread arenas, Redis arenas,
    the stream tail)."""
    port = eventd.port
    assert publish(port, [("feature_vector_update", {"pad": "q" * (MAX_BODY - 2048)})]) == [200]
    sse = SseClient(port, "/events/stream")
    publish(port, [("system_health", {"warm": True})])
    sse.next_event(5)
    sse.close()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        time.sleep(0.1)
    # Phase a's reads, last: the stream's newest entries are then 200 risk
    # alerts of about 300 bytes each, and a read of the latest 100 touches
    # nothing else.
    statuses = publish(port, [("risk_alert", {"n": n, "pad": "p" * 300}) for n in range(200)])
    assert statuses == [200] * 200, f"warm-up publishes: {statuses}"
    assert eventd.request("GET", A_PATH)[0] == 200
    assert eventd.request("GET", "/metrics")[0] == 200


A_PATH = "/events?event_type=risk_alert&limit=100"


def phase_a(run):
    """Pipelined GETs whose answers are never read. Each connection may hold
    max_unsent of unread answers, plus the answers to the requests already in
    its pipeline when it crossed that (max_pipelined), plus its read buffer
    and one read of unparsed requests (README: "per connection 4 MiB of
    unread answers and 16 pipelined requests"). The phase lasts until every
    client is held back and eventd has stopped answering."""
    _, _, sample = run.eventd.request("GET", A_PATH, raw=True)
    answer = len(sample) + 256  # the body plus the head
    bound = PROCESS_SLACK + A_CONNECTIONS * (MAX_UNSENT + MAX_PIPELINED * answer + READ_BUFFER + BACKLOG
                                             + PER_CONNECTION)
    request = b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % A_PATH.encode()

    def body(sampler):
        socks = [slow_reader_socket(run.port) for _ in range(A_CONNECTIONS)]
        try:
            # One read's worth of requests in one write each (what a client
            # pipelining at full speed hands over), then more until held.
            burst = request * (READ_BUFFER // len(request))
            for s in socks:
                s.sendall(burst)
            held = push_until_held(socks, burst, sampler.exceeded)
            # Then until eventd has answered all it took: it works while it
            # answers (a request to /metrics would wait behind those
            # answers' Redis reads).
            idle = wait_idle(run.pid, sampler.exceeded)
        finally:
            for s in socks:
                s.close()
        if not held and not sampler.exceeded.is_set():
            run.failures.append("a: eventd kept reading requests from clients that read no answers")
        return f"{A_CONNECTIONS} connections, answers of {answer} bytes, all held back: {held}, then idle: {idle}"

    run.phase("a) pipelined GETs, answers unread", bound, body)


def phase_b(run):
    """Stream clients that read nothing while events are published. Each may
    hold stream_unsent of unsent events (copied into its output) besides its
    connection's read buffer; plus what the publishing meanwhile holds. Past
    its limit a client reads on from Redis when it can take more: what it
    holds meanwhile is a queue of pointers to the frames every client shares
    (the events themselves, once: within what the publishing holds)."""
    count, pad = 800, 2000  # 1.6 MB to every client: far past its socket buffers and its limit
    bound = PROCESS_SLACK + PUBLISHING + B_CLIENTS * (STREAM_UNSENT + READ_BUFFER + PER_CONNECTION)
    catch_ups = r"\nevent_service_stream_catch_ups_total"  # the sample line, not its HELP

    def body(sampler):
        before = metric(run.eventd, catch_ups)
        clients = []
        try:
            for _ in range(B_CLIENTS):
                clients.append(stream_client(run.port))
            events = [("market_data_update", {"n": n, "pad": "e" * pad}) for n in range(count)]
            statuses = []
            errors = in_threads([(lambda part: statuses.extend(publish(run.port, part)), (events[k::4],))
                                 for k in range(4)])
            wait_idle(run.pid, sampler.exceeded, limit_s=5)  # the stream delivered what it had
        finally:
            for c in clients:
                c.close()
        fell_back = metric(run.eventd, catch_ups) - before
        if errors or len(statuses) != count or set(statuses) - {200, 503}:
            run.failures.append(f"b: publishing failed: {errors}, answers {sorted(set(statuses))}")
        if fell_back <= 0:
            run.failures.append("b: no stream client reached its unsent limit; the phase proved nothing")
        return f"{B_CLIENTS} clients, {count} events of {pad} bytes, {fell_back:.0f} fell back to Redis"

    run.phase("b) stream clients that never read", bound, body)


def phase_c(run):
    """Events close to max_body, published by several clients at once,
    answers read. Each connection holds the body it is receiving (a string
    grown by appends: up to twice max_body), its read buffer and one read of
    unparsed bytes; the loop thread validates one body at a time (a padded
    copy, then the encoded event: twice max_body); the rest is publishing."""
    pad = MAX_BODY - 4096
    bound = PROCESS_SLACK + PUBLISHING + 2 * MAX_BODY + C_CLIENTS * (2 * MAX_BODY + READ_BUFFER + BACKLOG
                                                                     + PER_CONNECTION)
    statuses = []

    def client(k):
        with socket.create_connection(("127.0.0.1", run.port), timeout=30) as s:
            for n in range(C_EVENTS_EACH):
                s.sendall(post_wire("feature_vector_update", {"k": k, "n": n, "pad": "v" * pad}))
                statuses.extend(status for status, _ in read_answers(s, 1))

    def body(sampler):
        errors = in_threads([(client, (k,)) for k in range(C_CLIENTS)])
        ok = statuses.count(200)
        if errors or len(statuses) != C_CLIENTS * C_EVENTS_EACH or set(statuses) - {200, 503} or not ok:
            run.failures.append(f"c: {errors}, answers {sorted(set(statuses))}, {len(statuses)} of "
                                f"{C_CLIENTS * C_EVENTS_EACH}")
        return f"{C_CLIENTS} clients, {C_CLIENTS * C_EVENTS_EACH} events of {pad // KiB} KiB, {ok} answered 200"

    run.phase("c) large events published concurrently", bound, body)


def phase_d(run):
    """Clients trickling a header section a byte at a time. Each holds its
    read buffer and at most max_header of header bytes."""
    wire = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 4000
    bound = PROCESS_SLACK + D_CLIENTS * (READ_BUFFER + MAX_HEADER + PER_CONNECTION)

    def body(sampler):
        socks, sent, alive = [], 0, 0
        try:
            for _ in range(D_CLIENTS):
                socks.append(socket.create_connection(("127.0.0.1", run.port)))
            end = time.monotonic() + 3.0
            while time.monotonic() < end and sent < len(wire):
                for s in socks:
                    try:
                        s.send(wire[sent:sent + 1])
                    except OSError:
                        pass
                sent += 1
                time.sleep(0.01)
            # Every one is still open and unanswered: nothing completed, no
            # timeout yet.
            for s in socks:
                s.setblocking(False)
                try:
                    s.recv(1)
                except BlockingIOError:
                    alive += 1
                except OSError:
                    pass
        finally:
            for s in socks:
                s.close()
        if alive != D_CLIENTS:
            run.failures.append(f"d: {D_CLIENTS - alive} trickling clients were answered or dropped early")
        return f"{D_CLIENTS} clients, {sent} header bytes each"

    run.phase("d) header sections trickling in", bound, body)


def main():
    t0 = time.monotonic()
    run = Run()
    try:
        if not run.start_eventd():
            print("FAIL: eventd runs under AddressSanitizer; its RSS says nothing about eventd's bounds")
            return 1
        for phase in (phase_a, phase_b, phase_c, phase_d):
            phase(run)
    finally:
        run.close()
    for f in run.failures:
        print(f"FAIL: {f}")
    print(f"{'FAILED' if run.failures else 'passed'} in {time.monotonic() - t0:.1f}s")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
