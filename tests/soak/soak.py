#!/usr/bin/env python3
# tests/soak/soak.py: eventd under mixed load for MINUTES, then a
# reconciliation. Run by `tools/run soak [MINUTES]`:  soak.py <eventd> <minutes>
#
# Load: four publishers (as fast as they are answered), five stream clients
# reading everything, readers of GET /events, /events/stats and /metrics,
# and a replay of the last seconds every ten seconds. Every 5 s eventd's RSS
# is sampled. At the end:
#   published = acknowledged = in the stream, exactly once under its id;
#   every stream client saw the stream's ids in increasing order;
#   RSS after the warm-up (the first quarter) grows by at most 20 % + 16 MiB.
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))
from eventd_support import Eventd, RedisServer, SseClient, rss_kib  # noqa: E402
from load import Load, reconcile  # noqa: E402


def main():
    eventd, minutes = sys.argv[1], float(sys.argv[2])
    duration = minutes * 60
    redis = RedisServer()
    d = Eventd(eventd, redis.url, env={"EVENT_SERVICE_HEARTBEAT_MS": "1000"})
    stop = threading.Event()
    problems = []
    stream_counts = [0] * 5
    try:
        d.wait_healthy()

        def stream_client(k):
            last = None
            c = SseClient(d.port, "/events/stream")
            try:
                while not stop.is_set():
                    try:
                        ev = c.next_event(2)
                    except AssertionError:
                        continue  # nothing within 2 s: keep waiting
                    if ev.get("id"):
                        ms, seq = (int(x) for x in ev["id"].split("-"))
                        if last is not None and (ms, seq) <= last:
                            problems.append(f"stream client {k}: id {ev['id']} after {last}")
                        last = (ms, seq)
                        stream_counts[k] += 1
            finally:
                c.close()

        def reader():
            while not stop.is_set():
                for path in ("/events?limit=100", "/events?event_type=risk_alert&limit=10", "/events/stats",
                             "/metrics"):
                    status, _, _ = d.request("GET", path, raw=path == "/metrics")
                    if status != 200:
                        problems.append(f"GET {path}: {status}")
                time.sleep(0.2)

        def replayer():
            while not stop.wait(10):
                start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 5))
                status, _, r = d.request("POST", f"/events/replay?start_time={start}")
                if status != 200:
                    problems.append(f"replay: {status} {r}")

        workers = [threading.Thread(target=stream_client, args=(k,), daemon=True) for k in range(5)]
        workers += [threading.Thread(target=reader, daemon=True), threading.Thread(target=replayer, daemon=True)]
        for t in workers:
            t.start()
        load = Load(d.port)
        t0 = time.monotonic()
        samples = []
        while time.monotonic() - t0 < duration:
            time.sleep(5)
            samples.append((time.monotonic() - t0, rss_kib(d.proc.pid), load.count()))
            print(f"soak {samples[-1][0]:6.0f} s: eventd RSS {samples[-1][1] / 1024:6.1f} MiB, "
                  f"acknowledged {samples[-1][2]}", flush=True)
        load.stop()
        stop.set()
        for t in workers:
            t.join(10)
        problems += reconcile("soak", load, redis)
        warm = [s for s in samples if s[0] >= duration / 4]
        if warm:
            base = warm[0][1]
            peak = max(s[1] for s in warm)
            print(f"soak: RSS after warm-up {base / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, "
                  f"end {samples[-1][1] / 1024:.1f} MiB; stream clients saw {stream_counts}")
            if peak > base * 1.2 + 16 * 1024:
                problems.append(f"RSS grew from {base} KiB to {peak} KiB after warm-up")
        if min(stream_counts) == 0:
            problems.append(f"a stream client saw nothing: {stream_counts}")
    finally:
        stop.set()
        d.close()
        redis.close()
    for p in problems[:20]:
        print(f"    {p}")
    print("soak: " + ("FAILED" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
