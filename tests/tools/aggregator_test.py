# tests/tools/aggregator_test.py
#
# tradpal-aggregator against a real redis-server: market data written to
# the stream as the Python services write it (some of it late), the
# aggregator killed with SIGKILL twice while events keep coming and
# restarted each time, then stopped with SIGTERM. The bars in the bars
# stream must equal a reference computed here from the raw events (same
# rules: event time, watermark = latest time - lateness, a window closes
# when the watermark reaches its end), each bar exactly once. Then again on
# a real 3-master Redis Cluster, with a bars name carrying a hash tag.
#
#   aggregator_test.py <tradpal-aggregator binary>
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Cluster, RedisServer, kill_all, read_log, wait_until  # noqa: E402

AGGREGATOR = sys.argv[1]
LATENESS_US = 500_000
INTERVALS = {"1s": 1_000_000, "1m": 60_000_000}
BASE = datetime.datetime(2026, 12, 1)
SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")


def iso(us):
    return (BASE + datetime.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%f")


def make_events(n, seed):
    rng = random.Random(seed)
    now, price, out = 0, {}, []
    for _ in range(n):
        now += rng.randint(0, 4000)  # up to 4 ms apart
        t = now - rng.randint(0, 300_000)
        if rng.random() < 0.02:
            t = now - 5_000_000  # too late for its second
        sym = f"S{rng.randint(0, 7)}"
        p = round(price.get(sym, 100.0) + rng.randint(-10, 10) / 100, 2)
        price[sym] = p
        e = {"symbol": sym, "price": p, "volume": rng.randint(1, 500) / 10, "t": t, "id": str(uuid.uuid4())}
        if rng.random() < 0.005:
            e["price"] = -e["price"]  # fails the schema (price > 0)
            e["bad"] = True
        elif rng.random() < 0.003:
            del e["symbol"]  # no symbol: fails the schema, and is no tick
            e["bad"] = True
        out.append(e)
    return out


def reference(events):
    """Closed bars {(symbol, interval label, window start us): (o, h, l, c, v, trades)}."""
    bars, started, max_t = {}, False, 0
    for e in events:
        if e.get("bad"):
            continue  # quarantined, never aggregated
        wm = (max_t if started else e["t"]) - LATENESS_US
        for label, iv in INTERVALS.items():
            start = e["t"] // iv * iv
            if start + iv <= wm:
                continue
            b = bars.get((e["symbol"], label, start))
            if b is None:
                bars[(e["symbol"], label, start)] = {"o": e["price"], "h": e["price"], "l": e["price"],
                                                     "c": e["price"], "v": e["volume"], "n": 1,
                                                     "first": e["t"], "last": e["t"], "end": start + iv}
                continue
            if e["t"] < b["first"]:
                b["first"], b["o"] = e["t"], e["price"]
            if e["t"] >= b["last"]:
                b["last"], b["c"] = e["t"], e["price"]
            b["h"], b["l"] = max(b["h"], e["price"]), min(b["l"], e["price"])
            b["v"] += e["volume"]
            b["n"] += 1
        if not started or e["t"] > max_t:
            max_t, started = e["t"], True
    final_wm = max_t - LATENESS_US
    return {(s, lab, iso(st)): (b["o"], b["h"], b["l"], b["c"], b["v"], b["n"])
            for (s, lab, st), b in bars.items() if b["end"] <= final_wm}


def xadd_all(client, events):
    for e in events:
        data = {"price": e["price"], "volume": e["volume"], "timestamp": iso(e["t"])}
        if "symbol" in e:
            data["symbol"] = e["symbol"]
        event = {"event_type": "market_data_update", "event_id": e["id"],
                 "timestamp": iso(e["t"] + 1000), "source": "data_service", "data": data, "metadata": {}}
        client.command("XADD", "tradpal_events", "*", "event", json.dumps(event))


class Aggregator:
    def __init__(self, redis_url, bars):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [AGGREGATOR, "--intervals", "1s,1m", "--lateness-ms", "500", "--commit-ms", "20", "--schemas", SCHEMAS,
             "--bars", bars],
            env=dict(os.environ, REDIS_URL=redis_url), stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        return read_log(self.log)


def kill_and_restart(url, new_client, procs, bars="tradpal_bars", tag=None, where=""):
    """The aggregator killed with SIGKILL twice while events keep coming,
    restarted each time, then stopped: its bars must equal the reference,
    each once, and the events failing their schema quarantined once each.
    `tag`: the hash tag its checkpoint and quarantine keys take (default: the
    bars name)."""
    checkpoint = "{%s}:checkpoint" % (tag or bars)
    quarantine = "{%s}:quarantine" % (tag or bars)
    first = len(procs)
    client = new_client()
    events = make_events(9000, 3)
    xadd_all(client, events[:3000])
    writer = threading.Thread(target=lambda: xadd_all(new_client(), events[3000:]))
    agg = Aggregator(url, bars)
    procs.append(agg)
    writer.start()
    # Twice: let it commit, then SIGKILL it and start another. A restarted
    # one is killed only once it has restored (and so read on from the
    # checkpoint): killed earlier, under a sanitizer's slow start, it
    # would not have got that far, and the restores counted below would
    # not match.
    for i in range(2):
        wait_until(lambda: client.command("EXISTS", checkpoint) == 1, 10, "a checkpoint")
        if i > 0:
            wait_until(lambda: "restored from" in agg.output(), 20, "the restarted aggregator to restore")
        time.sleep(random.uniform(0.05, 0.3))
        agg.proc.send_signal(signal.SIGKILL)
        agg.proc.wait()
        agg = Aggregator(url, bars)
        procs.append(agg)
    writer.join()
    last_id = client.command("XREVRANGE", "tradpal_events", "+", "-", "COUNT", "1")[0][0]
    wait_until(lambda: json.loads(client.command("GET", checkpoint))["cursor"] == last_id, 20,
               "the aggregator to reach the stream's end")
    agg.proc.send_signal(signal.SIGTERM)
    assert agg.proc.wait(10) == 0, agg.output()

    got = {}
    for _, fields in client.command("XRANGE", bars, "-", "+"):
        ev = json.loads(dict(zip(fields[::2], fields[1::2]))["event"])
        assert ev["event_type"] == "market_data_update" and ev["metadata"] == {"aggregate": "ohlcv"}, ev
        d = ev["data"]
        key = (d["symbol"], d["interval"], d["window_start"])
        assert key not in got, f"bar {key} written twice"
        got[key] = (d["open"], d["high"], d["low"], d["close"], d["volume"], d["trades"])
    want = reference(events)
    assert len(want) > 100, len(want)
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    assert not missing and not extra, f"missing {missing}, extra {extra}"
    wrong = [(k, got[k], want[k]) for k in want if got[k] != want[k]]
    assert not wrong, f"{len(wrong)} bars differ, e.g. {wrong[:3]}"
    quarantined = {}
    for _, fields in client.command("XRANGE", quarantine, "-", "+"):
        f = dict(zip(fields[::2], fields[1::2]))
        ev = json.loads(f["event"])
        assert ev["event_id"] not in quarantined, f"{ev['event_id']} quarantined twice"
        assert "schema" in f["reason"] and f["source_stream"] == "tradpal_events" and f["source_id"], f
        quarantined[ev["event_id"]] = f["reason"]
    bad = {e["id"] for e in events if e.get("bad")}
    assert len(bad) > 10 and set(quarantined) == bad, (len(bad), len(quarantined))
    restored = sum(p.output().count("restored from") for p in procs[first:])
    assert restored == 2, [p.output() for p in procs[first:]]
    print(f"[ OK ] {where}{len(events)} events through 2 kill -9 and a restart each: {len(got)} bars, "
          f"each once, equal to the reference; {len(bad)} failing their schema quarantined once each",
          flush=True)


def main():
    redis = RedisServer()
    procs = []
    try:
        kill_and_restart(redis.url, redis.client, procs)

        # On a real Redis Cluster (3 masters), with a bars name that has a
        # hash tag of its own: the bars, the checkpoint and the quarantine
        # must share its slot for the commit's MULTI, and the source stream
        # is on another master.
        cluster = Cluster(replicas=0)
        try:
            cc = cluster.client()
            bars = "{md}.bars"
            slots = [cc.command("CLUSTER", "KEYSLOT", k) for k in ("tradpal_events", bars)]
            assert cluster.master_of(slots[0]) != cluster.master_of(slots[1]), slots
            kill_and_restart(cluster.url, cluster.client, procs, bars=bars, tag="md", where="on a 3-master cluster: ")
        finally:
            kill_all(procs)
            cluster.close()

        bad = subprocess.run([AGGREGATOR, "--intervals", "fast"], capture_output=True, text=True)
        assert bad.returncode == 2 and "--intervals" in bad.stderr, (bad.returncode, bad.stderr)
        help_text = subprocess.run([AGGREGATOR, "--help"], capture_output=True, text=True)
        assert help_text.returncode == 0 and "AGGREGATOR_INTERVALS" in help_text.stdout
        print("[ OK ] --help and a bad setting", flush=True)
        return 0
    except AssertionError:
        import traceback
        traceback.print_exc()
        for p in procs:
            print("aggregator's log:\n" + p.output())
        return 1
    finally:
        kill_all(procs)
        redis.close()


if __name__ == "__main__":
    sys.exit(main())
