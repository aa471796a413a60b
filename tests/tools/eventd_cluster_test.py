# tests/tools/eventd_cluster_test.py
#
# eventd on a real Redis Cluster (3 masters + 3 replicas, started here).
#
# First with 6 partition streams (EVENT_SERVICE_PARTITIONS=6): writes spread
# over the masters, the live stream keeps each symbol's order, a client
# resumes by its cursor exactly once, reads merge the partitions.
#
# Then with the plain stream and replicated acknowledgements on.
# The stream keeps its plain name, so it lives on the master of its slot and
# Python services on the cluster read it unchanged. A kill -9 of that master
# while clients publish: every publish answered 200 is in the stream exactly
# once after the replica takes over, and publishing resumes.
#
#   eventd_cluster_test.py <eventd binary>
import os
import re
import sys
import threading
import json
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Cluster, Eventd, SseClient, wait_until  # noqa: E402

EVENTD = sys.argv[1]


def post(port, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        c.request("POST", "/events", body=json.dumps(body), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        c.close()


def partitioned_stream(cluster, failed):
    """eventd with 6 partition streams: writes spread over the 3 masters,
    per-symbol order on the live stream, resume by cursor exactly once,
    merged reads, and entries written to a partition by someone else."""
    eventd = Eventd(EVENTD, cluster.url, env={"EVENT_SERVICE_PARTITIONS": "6", "EVENT_SERVICE_STREAM": "parted"})
    try:
        eventd.wait_healthy(30)
        first = SseClient(eventd.port, "/events/stream")
        symbols = [f"SYM{i}" for i in range(20)]
        sent = []  # (event_id, symbol, n)

        def publish(count):
            for _ in range(count):
                sym = symbols[len(sent) % len(symbols)]
                n = sum(1 for _, s, _ in sent if s == sym)
                status, r = post(eventd.port, {"event_type": "market_data_update", "source": "feed",
                                               "data": {"symbol": sym, "n": n, "price": 100.5}})
                assert status == 200, (status, r)
                sent.append((r["event_id"], sym, n))

        publish(240)
        # The partition streams, found on the masters, 2 on each.
        masters = {n.port for n in cluster.live() if "role:master" in n.command("INFO", "replication")}
        streams = {}
        for port in masters:
            keys = cluster.node(port).command("KEYS", "parted:*")
            assert len(keys) == 2, f"master {port} holds {keys}"
            for k in keys:
                streams[k] = port
        assert sum(cluster.node(p).command("XLEN", k) for k, p in streams.items()) == 240

        def read(client, count):
            out = []
            while len(out) < count:
                b = client.next_event(10)
                out.append((b["id"], json.loads(b["data"])))
            return out

        got = read(first, 240)
        assert [e["event_id"] for _, e in got] and sorted(e["event_id"] for _, e in got) == sorted(
            i for i, _, _ in sent), "every event on the live stream once"
        for sym in symbols:
            ns = [e["data"]["n"] for _, e in got if e["data"]["symbol"] == sym]
            assert ns == sorted(ns) == list(range(len(ns))), f"{sym} in order: {ns}"
        cursors = [c.split(",") for c, _ in got]
        assert all(len(c) == 6 for c in cursors), cursors[:3]
        for a, b in zip(cursors, cursors[1:]):
            assert all(_id_key(x) <= _id_key(y) for x, y in zip(a, b)), f"cursor went back: {a} -> {b}"

        # A second client while the first listens: from the stream's end.
        publish(20)
        second = SseClient(eventd.port, "/events/stream?event_type=market_data_update")
        more = read(first, 20)
        publish(30)
        later = read(second, 30)
        assert sorted(e["event_id"] for _, e in later) == sorted(i for i, _, _ in sent[-30:]), \
            "the second client: what followed its start"
        got += more + read(first, 30)
        # Both leave after the 150th event of the first: nobody listens,
        # the tail rests. 60 more are published; a client resuming from
        # the 150th's cursor gets exactly what followed it, from every
        # partition, then live events.
        first.close()
        second.close()
        resume_from, seen_before = got[149][0], {e["event_id"] for _, e in got[:150]}
        publish(60)
        resumed = SseClient(eventd.port, "/events/stream", headers={"Last-Event-ID": resume_from})
        publish(10)
        # Someone else writes to a partition stream directly.
        foreign = {"event_id": "00000000-0000-4000-8000-00000000f00d", "event_type": "risk_alert",
                   "timestamp": "2026-01-01T00:00:00", "source": "python", "data": {"level": "high"},
                   "metadata": {}}
        stream0 = sorted(streams)[0]
        cluster.node(streams[stream0]).command("XADD", stream0, "*", "event", json.dumps(foreign))
        want = sorted([i for i, _, _ in sent if i not in seen_before] + [foreign["event_id"]])
        after = read(resumed, len(want))
        assert sorted(e["event_id"] for _, e in after) == want, "resumed by cursor: all that followed, once"
        for sym in symbols:
            ns = [e["data"]["n"] for _, e in after if e["data"].get("symbol") == sym]
            assert ns == sorted(ns), f"{sym} in order after resuming: {ns}"
        resumed.close()

        # Merged reads and stats; health names the partitions.
        status, _, listed = eventd.request("GET", "/events?limit=1000")
        assert status == 200 and listed["count"] == len(sent) + 1, listed["count"]
        status, _, stats = eventd.request("GET", "/events/stats")
        assert status == 200 and stats["stream_length"] == len(sent) + 1, stats
        status, _, health = eventd.request("GET", "/health")
        assert health["stream"]["partitions"] == 6 and len(health["stream"]["position"].split(",")) == 6, health
        status, _, bad = eventd.request("GET", "/events/stream", headers={"Last-Event-ID": "1-0"})
        assert status == 422 and "one per partition" in json.dumps(bad), (status, bad)
        print(f"[ OK ] 6 partitions over 3 masters: {len(sent)} events in per-symbol order on the stream, "
              f"resumed by cursor exactly once, merged reads", flush=True)

        # A live client that reads nothing while ~6 MB spread over the
        # partitions is published: it falls back to reading the partitions
        # from Redis after its cursor and still gets every event once, in
        # per-symbol order, with no missed note.
        slow = SseClient(eventd.port, "/events/stream?event_type=feature_vector_update", rcvbuf=4096)
        pad, big = "x" * 20000, []
        for n in range(300):
            status, r = post(eventd.port, {"event_type": "feature_vector_update", "source": "feed",
                                           "data": {"symbol": symbols[n % len(symbols)], "n": n, "pad": pad}})
            assert status == 200, (status, r)
            big.append(r["event_id"])
        slow_got = []
        while len(slow_got) < len(big):
            b = slow.next_event(30)
            assert b["event"] != "missed", f"told it missed events after {len(slow_got)}: {b['data']}"
            slow_got.append(json.loads(b["data"]))
        slow.close()
        _, _, text = eventd.request("GET", "/metrics", raw=True)
        m = re.search(r"^event_service_stream_catch_ups_total (\S+)$", text, re.M)
        assert m and float(m.group(1)) > 0, "the client fell back to Redis (else this proved nothing)"
        assert sorted(e["event_id"] for e in slow_got) == sorted(big), "every event once"
        for sym in symbols:
            ns = [e["data"]["n"] for e in slow_got if e["data"]["symbol"] == sym]
            assert ns == sorted(ns), f"{sym} in order for the slow client: {ns}"
        print(f"[ OK ] a client reading nothing while {len(big)} events of 20 KB came over 6 partitions: "
              f"all of them from Redis, in per-symbol order", flush=True)
        assert eventd.terminate() == 0, "eventd exit status"
    except Exception:  # noqa: BLE001 - reported with eventd's log
        import traceback
        failed.append(traceback.format_exc() + "\neventd's log:\n" + eventd.output())
    finally:
        eventd.close()


def _id_key(text):
    ms, seq = text.split("-")
    return int(ms), int(seq)


def main():
    cluster = Cluster()
    eventd = None
    failed = []
    partitioned_stream(cluster, failed)
    try:
        eventd = Eventd(EVENTD, cluster.url, env={"EVENT_SERVICE_REPLICAS": "1",
                                                  "EVENT_SERVICE_REPLICA_TIMEOUT_MS": "500"})
        eventd.wait_healthy(30)
        slot = cluster.nodes[0].command("CLUSTER", "KEYSLOT", "tradpal_events")
        master = cluster.master_of(slot)

        # Publishes land on the slot's master, under the plain stream name.
        ids = []
        for i in range(50):
            status, r = post(eventd.port, {"event_type": "trading_signal", "source": "s", "data": {"i": i}})
            assert status == 200, (status, r)
            ids.append(r["message_id"])
        entries = cluster.node(master).command("XRANGE", "tradpal_events", "-", "+")
        assert [e[0] for e in entries] == ids, "the stream on the slot's master holds what was acknowledged"
        status, _, health = eventd.request("GET", "/health")
        assert status == 200 and health["redis"]["connected"], health
        assert health["redis"]["node"] == f"redis://127.0.0.1:{master}", health["redis"]
        nodes = health["cluster"]["nodes"]
        assert sorted(n["node"] for n in nodes) == sorted(f"redis://127.0.0.1:{n.port}" for n in cluster.nodes), nodes
        assert sum(n["slots"] for n in nodes if n["role"] == "master") == 16384, nodes
        assert [n["role"] for n in nodes].count("replica") == 3 and all(n["connected"] for n in nodes), nodes
        status, _, listed = eventd.request("GET", "/events?limit=50")
        assert status == 200 and [e["event_id"] for e in listed["events"]] == [
            json.loads(dict(zip(e[1][::2], e[1][1::2]))["event"])["event_id"] for e in entries], "GET /events"
        print("[ OK ] publishes reach the slot's master; /health names it", flush=True)

        # kill -9 of that master while clients publish.
        acked, answers, stop = {}, [], threading.Event()

        def publisher(w):
            n = 0
            while not stop.is_set():
                try:
                    status, r = post(eventd.port, {"event_type": "order_executed", "source": "w", "data": {"w": w, "n": n}})
                except OSError:
                    continue
                answers.append(status)
                if status == 200:
                    acked[r["event_id"]] = r["message_id"]
                n += 1

        threads = [threading.Thread(target=publisher, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) > 300, 20, "publishes before the kill")
        cluster.node(master).kill9()
        at_kill = len(acked)
        wait_until(lambda: cluster.master_of(slot) != master, 30, "the replica to take over")
        # /health names the dead node as failing.
        dead = f"redis://127.0.0.1:{master}"
        wait_until(lambda: any(n["node"] == dead and n["failing"]
                               for n in eventd.request("GET", "/health")[2]["cluster"]["nodes"]),
                   10, "/health to report the killed master failing")
        # Acknowledgements need a replica: the old master comes back as one.
        cluster.node(master).start()
        wait_until(cluster.healthy, 30, "the cluster to be whole again")
        wait_until(lambda: len(acked) > at_kill + 300, 30, "publishes after the failover")
        stop.set()
        for t in threads:
            t.join()
        new_master = cluster.master_of(slot)
        seen = {}
        for entry_id, fields in cluster.node(new_master).command("XRANGE", "tradpal_events", "-", "+"):
            ev = json.loads(dict(zip(fields[::2], fields[1::2]))["event"])
            seen.setdefault(ev["event_id"], []).append(entry_id)
        for event_id, message_id in acked.items():
            assert seen.get(event_id) == [message_id], f"acknowledged {event_id} as {message_id}: found {seen.get(event_id)}"
        refused = sum(1 for s in answers if s != 200)
        print(f"[ OK ] kill -9 of the master: {len(acked)} acknowledged, all present once; "
              f"{refused} answered 503 while the cluster failed over", flush=True)
        status, _, health = eventd.request("GET", "/health")
        assert health["redis"]["node"] == f"redis://127.0.0.1:{new_master}", health["redis"]
        assert eventd.terminate() == 0, "eventd exit status"
    except Exception:  # noqa: BLE001 - reported with eventd's log
        import traceback
        failed.append(traceback.format_exc())
    finally:
        if failed and eventd is not None:
            print("eventd's log:\n" + eventd.output())
        if eventd is not None:
            eventd.close()
        cluster.close()
    for f in failed:
        print("[FAIL]\n" + f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
