#!/usr/bin/env python3
# tests/soak/soak.py: eventd under mixed load for MINUTES, then a
# reconciliation. Run by `tools/run soak [MINUTES]`:
#   soak.py <eventd> <minutes> [<soak_group_reader>]
#
# Load: four publishers (as fast as they are answered), five stream clients
# reading everything, readers of GET /events, /events/stats and /metrics,
# a replay of the last seconds every ten seconds, and two processes sharing
# one Redis consumer group on the stream (tests/soak/group_reader.cpp, our
# RemoteSubscription). Every 5 s eventd's RSS is sampled. At the end:
#   published = acknowledged = in the stream, exactly once under its id;
#   every stream client saw the stream's ids in increasing order;
#   every stream entry was handled by the group once, by one of the two
#   readers, both took a share, and nothing is left pending;
#   RSS after the warm-up (the first quarter) grows by at most 20 % + 16 MiB.
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))
from eventd_support import Eventd, RedisError, RedisServer, SseClient, rss_kib, wait_until  # noqa: E402
from load import Load, reconcile  # noqa: E402


GROUP = "soak_readers"


def start_group_readers(binary, redis, workdir):
    readers = []
    for name in ("reader-a", "reader-b"):
        out = os.path.join(workdir, name + ".ids")
        proc = subprocess.Popen([binary, redis.url, "tradpal_events", GROUP, name, out],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        readers.append((name, proc, out))

    # The group starts at the stream's end ($) when the first reader creates
    # it: the load may start only once both readers are in, or its first
    # entries would precede the group.
    def both_in():
        c = redis.client()
        try:
            consumers = c.command("XINFO", "CONSUMERS", "tradpal_events", GROUP)
        except RedisError:
            return False  # no stream or no group yet
        finally:
            c.close()
        return len(consumers) == 2
    wait_until(both_in, 15, "both group readers to join")
    return readers


def reconcile_group(readers, redis):
    """Stops the readers once they have caught up and checks that every
    stream entry was handled exactly once across them."""
    problems = []
    ids = [entry_id for entry_id, _ in redis.client().entries()]
    # The readers flush their files only when stopped; wait on Redis instead:
    # the group has delivered everything and nothing is pending.
    def caught_up():
        c = redis.client()
        try:
            groups = c.command("XINFO", "GROUPS", "tradpal_events")
        finally:
            c.close()
        for g in groups:
            info = dict(zip(g[::2], g[1::2]))
            if info.get("name") == GROUP:
                return info.get("pending") == 0 and info.get("last-delivered-id") == (ids[-1] if ids else "0-0")
        return False
    try:
        wait_until(caught_up, 120, "the consumer group to handle every entry")
    except AssertionError as e:
        problems.append(str(e))
    handled = {}
    for name, proc, out in readers:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode != 0:
            problems.append(f"group {name} exited {proc.returncode}: {err.strip()}")
        print(f"soak: {err.strip()}")
        with open(out) as f:
            handled[name] = [line.strip() for line in f if line.strip()]
    seen = {}
    for name, got in handled.items():
        for i in got:
            seen[i] = seen.get(i, 0) + 1
    twice = [i for i, n in seen.items() if n > 1]
    missing = [i for i in ids if i not in seen]
    known = set(ids)
    strangers = [i for i in seen if i not in known]
    print(f"soak: consumer group: {len(ids)} entries, handled {sum(seen.values())} "
          f"({', '.join(f'{n} {len(got)}' for n, got in handled.items())}), "
          f"twice {len(twice)}, missing {len(missing)}")
    if twice:
        problems.append(f"group handled entries more than once: {twice[:5]}")
    if missing:
        problems.append(f"group never handled {len(missing)} entries: {missing[:5]}")
    if strangers:
        problems.append(f"group handled ids not in the stream: {strangers[:5]}")
    if any(len(got) == 0 for got in handled.values()):
        problems.append("a group reader handled nothing: the work was not shared")
    return problems


def main():
    eventd, minutes = sys.argv[1], float(sys.argv[2])
    group_reader = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(eventd))), "tests", "soak", "soak_group_reader")
    duration = minutes * 60
    redis = RedisServer()
    d = Eventd(eventd, redis.url, env={"EVENT_SERVICE_HEARTBEAT_MS": "1000"})
    stop = threading.Event()
    problems = []
    stream_counts = [0] * 5
    workdir = tempfile.mkdtemp(prefix="soak-")
    readers = []
    try:
        d.wait_healthy()
        readers = start_group_readers(group_reader, redis, workdir)

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
        problems += reconcile_group(readers, redis)
        readers = []
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
        for _, proc, _ in readers:
            proc.kill()
            proc.wait()
        d.close()
        redis.close()
        shutil.rmtree(workdir, ignore_errors=True)
    for p in problems[:20]:
        print(f"    {p}")
    print("soak: " + ("FAILED" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
