# tests/tools/router_test.py
#
# tradpal-router against a real redis-server. Two routers share one consumer
# group while events are written to the stream as the Python services write
# them; one is killed with SIGKILL while it holds entries it has not
# acknowledged, and a third joins. Every event that matches a rule must be
# in each of its targets exactly once (compared with a reference computed
# here from the rules' meaning), the copies byte for byte the source entry
# unless tagged. Then: a second group routing the same stream again writes
# nothing new (the dedup keys), SIGHUP reloads a changed rules file and
# refuses a broken one (the old rules stay), /metrics counts per rule, and
# bad configurations exit with status 2 and a message naming the place.
# The group run and a partitioned source run again on a real 3-master Redis
# Cluster, where the source, its partitions and the targets are on
# different masters.
#
#   router_test.py <tradpal-router binary>
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Cluster, RedisError, RedisServer, free_port, kill_all, read_log, wait_until  # noqa: E402

ROUTER = sys.argv[1]
STREAM = "tradpal_events"
SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")

RULES = {"rules": [
    {"name": "big_orders",
     "when": {"all": [{"field": "type", "eq": "order_executed"}, {"field": "data.quantity", "gte": 100}]},
     "copy_to": "tradpal_orders_big", "tag": {"desk": "block"}},
    {"name": "crypto",
     "when": {"field": "data.symbol", "in": ["BTCUSDT", "ETHUSDT"]},
     "copy_to": ["tradpal_crypto"]},
    {"name": "alerts",
     "when": {"all": [{"field": "type", "eq": "risk_alert"},
                      {"not": {"field": "source", "regex": "^test"}}]},
     "copy_to": ["tradpal_alerts", "tradpal_crypto"]},
]}
TARGETS = ["tradpal_orders_big", "tradpal_crypto", "tradpal_alerts"]


def expected_targets(ev):
    """The reference: the targets the rules above send `ev` to, and whether tagged."""
    t, d, out, tagged = ev["event_type"], ev["data"], set(), False
    if t == "order_executed" and isinstance(d.get("quantity"), (int, float)) and d["quantity"] >= 100:
        out.add("tradpal_orders_big")
        tagged = True
    if d.get("symbol") in ("BTCUSDT", "ETHUSDT"):
        out.add("tradpal_crypto")
    if t == "risk_alert" and not ev["source"].startswith("test"):
        out |= {"tradpal_alerts", "tradpal_crypto"}
    return out, tagged


def make_events(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(["market_data_update", "order_executed", "risk_alert", "trading_signal"])
        sym = rng.choice(["BTCUSDT", "ETHUSDT", "AAPL", "MSFT"])
        if kind == "market_data_update":
            data = {"symbol": sym, "price": rng.randint(1, 10**5) / 100}
        elif kind == "order_executed":
            data = {"symbol": sym, "quantity": rng.choice([1, 50, 99, 100, 101, 5000, "many"]), "side": "buy"}
        elif kind == "risk_alert":
            data = {"level": "high", "note": "drawdown \u00e9"}
        else:
            data = {"symbol": sym, "action": "buy", "confidence": 0.7}
        source = rng.choice(["data_service", "execution_service", "risk_service", "test_harness"])
        out.append({"event_type": kind, "event_id": str(uuid.uuid4()),
                    "timestamp": f"2026-12-01T10:00:{i % 60:02d}.{i:06d}", "source": source,
                    "data": data, "metadata": {"seq": i}})
    return out


def xadd_all(client, events, pause=0.0):
    for e in events:
        client.command("XADD", STREAM, "*", "event", json.dumps(e))
        if pause:
            time.sleep(pause)


class Router:
    def __init__(self, redis_url, rules, consumer, group="routers", extra=()):
        self.metrics_port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [ROUTER, "--rules", rules, "--consumer", consumer, "--group", group, "--from", "start",
             "--claim-idle-ms", "1000", "--read-count", "50", "--metrics", f"127.0.0.1:{self.metrics_port}",
             *extra],
            env=dict(os.environ, REDIS_URL=redis_url), stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        return read_log(self.log)

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()


def metric(text, name, labels=""):
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)$"
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else None


def target_entries(client, target):
    """[(event_id, event field text, event dict)] of a target stream."""
    out = []
    for _, fields in client.command("XRANGE", target, "-", "+"):
        f = dict(zip(fields[::2], fields[1::2]))
        ev = json.loads(f["event"])
        out.append((ev["event_id"], f["event"], ev))
    return out


def crc16(data):
    """CRC16/XMODEM, Redis Cluster's key hash."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def partition_streams(base, n):
    """The partition stream names eventd writes (adapters/redis/partitioning.h)."""
    names = []
    for i in range(n):
        low, high, k = i * 16384 // n, (i + 1) * 16384 // n, 0
        while True:
            tag = f"p{i}" + (f".{k}" if k else "")
            if low <= crc16(tag.encode()) % 16384 < high:
                names.append(f"{base}:{{{tag}}}")
                break
            k += 1
    return names


def pending_of(client, group, consumer):
    try:
        return client.command("XPENDING", STREAM, group, "-", "+", "10", consumer)
    except RedisError:  # NOGROUP: no router has made the group yet
        return None


def all_acked(client, group):
    info = client.command("XINFO", "GROUPS", STREAM)
    for g in info:
        g = dict(zip(g[::2], g[1::2]))
        if g["name"] == group:
            last = client.command("XREVRANGE", STREAM, "+", "-", "COUNT", "1")[0][0]
            return g["pending"] == 0 and g["last-delivered-id"] == last
    return False


def routed_exactly_once(url, new_client, rules_path, procs, count, where=""):
    """Two routers share a group while events are written; one is killed
    with SIGKILL holding entries it has not acknowledged and a third joins.
    Every copy must be in each of its targets exactly once. Returns the two
    routers left running."""
    client = new_client()
    events = make_events(count, 11)
    sources = {}  # event_id -> the event field as written
    xadd_all(client, events[:count // 6])
    r1 = Router(url, rules_path, "r1")
    r2 = Router(url, rules_path, "r2")
    procs += [r1, r2]
    writer = threading.Thread(target=lambda: xadd_all(new_client(), events[count // 6:], 0.0002))
    writer.start()
    # SIGKILL r1 while it holds entries it has not acknowledged.
    wait_until(lambda: pending_of(client, "routers", "r1"), 20, "r1 to hold pending entries")
    r1.proc.send_signal(signal.SIGKILL)
    r1.proc.wait()
    r3 = Router(url, rules_path, "r3")
    procs.append(r3)
    writer.join()
    wait_until(lambda: all_acked(client, "routers"), 30, "every entry routed and acknowledged")

    for _, fields in client.command("XRANGE", STREAM, "-", "+"):
        text = dict(zip(fields[::2], fields[1::2]))["event"]
        sources[json.loads(text)["event_id"]] = text
    want = {t: set() for t in TARGETS}
    tagged = set()
    for e in events:
        targets, is_tagged = expected_targets(e)
        for t in targets:
            want[t].add(e["event_id"])
        if is_tagged:
            tagged.add(e["event_id"])
    for t in TARGETS:
        got = target_entries(client, t)
        ids = [i for i, _, _ in got]
        dupes = {i for i in ids if ids.count(i) > 1} if len(ids) != len(set(ids)) else set()
        assert not dupes, f"{t}: {len(dupes)} events copied twice"
        assert set(ids) == want[t], (t, len(want[t] - set(ids)), "missing", len(set(ids) - want[t]), "extra")
        assert len(want[t]) > 100, (t, len(want[t]))
        for i, text, ev in got:
            if i in tagged:
                src = json.loads(sources[i])
                assert ev["metadata"] == dict(src["metadata"], desk="block"), ev["metadata"]
                assert {k: ev[k] for k in ev if k != "metadata"} == {k: src[k] for k in src if k != "metadata"}
            else:
                assert text == sources[i], "an untagged copy is the source entry byte for byte"
    took_over = sum(p.output().count("left pending by another router") for p in (r2, r3))
    assert took_over >= 1, [p.output() for p in (r2, r3)]
    m2, m3 = r2.metrics(), r3.metrics()
    for rule in ("big_orders", "crypto", "alerts"):
        assert metric(m2, "tradpal_router_rule_matches_total", f'rule="{rule}"') is not None, m2
    claimed = (metric(m2, "tradpal_router_claimed_total") or 0) + (metric(m3, "tradpal_router_claimed_total") or 0)
    assert claimed >= 1, (m2, m3)
    print(f"[ OK ] {where}{len(events)} events, 2 routers in a group, one kill -9 holding entries and a third "
          f"joining: {', '.join(f'{t} {len(want[t])}' for t in TARGETS)} copies, each exactly once; "
          f"{int(claimed)} entries taken over", flush=True)
    return r2, r3


def partitioned_source(url, client, rules_path, procs, where=""):
    """A partitioned source: one router reads every partition stream."""
    parts = partition_streams("parted", 3)
    with open(rules_path, "w") as f:
        json.dump({"rules": [{"name": "md", "when": {"field": "type", "eq": "market_data_update"},
                              "copy_to": "parted_md"}]}, f)
    spread = make_events(900, 17)
    rng = random.Random(5)
    for e in spread:
        client.command("XADD", rng.choice(parts), "*", "event", json.dumps(e))
    p3 = Router(url, rules_path, "p3", extra=("--source", "parted", "--partitions", "3"))
    procs.append(p3)
    want = {e["event_id"] for e in spread if e["event_type"] == "market_data_update"}
    wait_until(lambda: client.command("XLEN", "parted_md") >= len(want), 20, "the partitioned source routed")
    time.sleep(0.2)
    ids = [i for i, _, _ in target_entries(client, "parted_md")]
    assert len(ids) == len(set(ids)) and set(ids) == want, (len(ids), len(set(ids)), len(want))
    p3.proc.send_signal(signal.SIGTERM)
    assert p3.proc.wait(10) == 0, p3.output()
    print(f"[ OK ] {where}a source of 3 partitions: {len(want)} copies from every partition, each once", flush=True)


def main():
    redis = RedisServer()
    procs = []
    tmp = tempfile.mkdtemp(prefix="router-test-")
    rules_path = os.path.join(tmp, "rules.json")
    with open(rules_path, "w") as f:
        json.dump(RULES, f)
    try:
        client = redis.client()
        count = 6000
        r2, r3 = routed_exactly_once(redis.url, redis.client, rules_path, procs, count)

        # A second group routes the whole stream again: the targets already
        # hold every copy, so nothing is written twice.
        before = {t: client.command("XLEN", t) for t in TARGETS}
        again = Router(redis.url, rules_path, "g2", group="second")
        procs.append(again)
        wait_until(lambda: all_acked(client, "second"), 30, "the second group to route everything")
        assert {t: client.command("XLEN", t) for t in TARGETS} == before
        text = again.metrics()
        dup = sum(metric(text, "tradpal_router_duplicates_total", f'target="{t}"') or 0 for t in TARGETS)
        assert dup == sum(before.values()), (dup, before)
        again.proc.send_signal(signal.SIGTERM)
        assert again.proc.wait(10) == 0, again.output()
        print(f"[ OK ] a second group routing the same {count} events wrote nothing: "
              f"{int(dup)} copies recognised by their dedup keys", flush=True)

        # SIGHUP: a changed file is taken; a broken one is refused and the rules in force stay.
        RULES["rules"].append({"name": "health", "when": {"field": "type", "eq": "system_health"},
                               "copy_to": "tradpal_health"})
        with open(rules_path, "w") as f:
            json.dump(RULES, f)
        for p in (r2, r3):
            p.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: all("reloaded 4 rules" in p.output() for p in (r2, r3)), 10, "the reload")
        health = make_events(1, 5)[0]
        health.update(event_type="system_health", data={"status": "ok"})
        xadd_all(client, [health])
        wait_until(lambda: client.command("XLEN", "tradpal_health") == 1, 10, "the new rule to route")
        with open(rules_path, "w") as f:
            f.write('{"rules": [{"name": "x", "copy_to": "y", "when": {"field": "type", "eq": "no_such_type"}}]}')
        for p in (r2, r3):
            p.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: all("reload refused" in p.output() for p in (r2, r3)), 10, "the refusal")
        assert "rules[0].when: 'no_such_type' is not an event type" in r2.output(), r2.output()
        health2 = dict(health, event_id=str(uuid.uuid4()))
        xadd_all(client, [health2])
        wait_until(lambda: client.command("XLEN", "tradpal_health") == 2, 10, "the rules in force to route")
        assert metric(r2.metrics(), "tradpal_router_rules_reloads_total", 'result="refused"') == 1
        print("[ OK ] SIGHUP reloads the rules; a broken file is refused naming the place, the rules in force stay",
              flush=True)
        for p in (r2, r3):
            p.proc.send_signal(signal.SIGTERM)
            assert p.proc.wait(10) == 0, p.output()

        partitioned_source(redis.url, client, rules_path, procs)

        # --schemas: data failing its type's schema is quarantined, once, not routed.
        with open(rules_path, "w") as f:
            json.dump({"rules": [{"name": "md", "copy_to": "checked_md",
                                  "when": {"field": "type", "eq": "market_data_update"}}]}, f)
        checked = [e for e in make_events(400, 23) if e["event_type"] == "market_data_update"]
        bad = set()
        for i, e in enumerate(checked):
            if i % 7 == 0:
                e["data"]["price"] = "not a number"
                bad.add(e["event_id"])
            client.command("XADD", "checked", "*", "event", json.dumps(e))
        q = Router(redis.url, rules_path, "q1", extra=("--source", "checked", "--schemas", SCHEMAS))
        procs.append(q)
        good = {e["event_id"] for e in checked} - bad
        wait_until(lambda: client.command("XLEN", "checked_md") >= len(good)
                   and client.command("XLEN", "checked:quarantine") >= len(bad), 20, "routing with schemas")
        time.sleep(0.2)
        assert {i for i, _, _ in target_entries(client, "checked_md")} == good
        held = target_entries(client, "checked:quarantine")
        assert len(held) == len(bad) and {i for i, _, _ in held} == bad, (len(held), len(bad))
        for _, _, ev in held:
            why = ev["metadata"]["quarantine"]
            assert "/price" in why["reason"] and why["source_stream"] == "checked" and why["source_id"], why
        assert metric(q.metrics(), "tradpal_router_quarantined_total") == len(bad)
        q.proc.send_signal(signal.SIGTERM)
        assert q.proc.wait(10) == 0, q.output()
        print(f"[ OK ] --schemas: {len(bad)} events failing their schema quarantined once with the reason, "
              f"{len(good)} routed", flush=True)

        # The same on a real Redis Cluster (3 masters): the source stream,
        # the targets and the partition streams are served by different
        # masters, so every read, script and acknowledgement has to reach
        # its key's node.
        cluster = Cluster(replicas=0)
        try:
            where = "on a 3-master cluster: "
            cc = cluster.client()
            masters = {cluster.master_of(cc.command("CLUSTER", "KEYSLOT", k)) for k in [STREAM, *TARGETS]}
            assert len(masters) >= 2, f"the source and targets all on one master: {masters}"
            with open(rules_path, "w") as f:
                json.dump(RULES, f)
            for p in routed_exactly_once(cluster.url, cluster.client, rules_path, procs, 2000, where):
                p.proc.send_signal(signal.SIGTERM)
                assert p.proc.wait(10) == 0, p.output()
            partitioned_source(cluster.url, cc, rules_path, procs, where)
        finally:
            kill_all(procs)
            cluster.close()

        # Bad configurations: status 2 and a line naming the setting or place.
        with open(rules_path, "w") as f:
            json.dump({"rules": [{"name": "loop", "copy_to": STREAM}]}, f)
        runs = [
            ([ROUTER], "--rules: a rules file is required"),
            ([ROUTER, "--rules", rules_path, "--metrics", "off"], "is the stream the router reads"),
            ([ROUTER, "--rules", os.path.join(tmp, "none.json")], "cannot open the rules file"),
            ([ROUTER, "--rules", rules_path, "--read-count", "0"], "--read-count: expected a whole number"),
            ([ROUTER, "--rules", rules_path, "--metrics", "off", "--source", "other", "--schemas",
              os.path.join(tmp, "no-such-dir")], "--schemas: "),
        ]
        for argv, text in runs:
            r = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, REDIS_URL=redis.url),
                               timeout=10)
            assert r.returncode == 2 and text in r.stderr, (argv, r.returncode, r.stderr)
        help_text = subprocess.run([ROUTER, "--help"], capture_output=True, text=True)
        assert help_text.returncode == 0 and "ROUTER_RULES" in help_text.stdout
        print("[ OK ] --help and bad configurations", flush=True)
        return 0
    except AssertionError:
        import traceback
        traceback.print_exc()
        for p in procs:
            print("router's log:\n" + p.output())
        return 1
    finally:
        kill_all(procs)
        redis.close()


if __name__ == "__main__":
    sys.exit(main())
