#!/usr/bin/env python3
# tests/tools/eventd_test.py
#
# End-to-end tests of eventd: a real redis-server, eventd started as a
# process, real sockets. Each test names the behaviour it checks; they share
# one redis-server + eventd pair unless they need their own (token, Redis
# outage, shutdown). Run by meson:  eventd_test.py <eventd> <fixtures dir>
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Eventd, RedisServer, SseClient, read_answers, rss_kib, wait_until  # noqa: E402

EVENTD = sys.argv[1]
FIXTURES = sys.argv[2]

TYPES = ["market_data_update", "trading_signal", "order_executed", "portfolio_update", "risk_alert",
         "system_health", "ml_model_update", "backtest_complete", "alternative_data_update",
         "sentiment_data_update", "onchain_data_update", "economic_data_update", "market_regime_change",
         "rl_model_update", "rl_action_taken", "feature_vector_update"]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STREAM_ID = re.compile(r"^\d+-\d+$")

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, what=""):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


def publish(ctx, body, path="/events", headers=None):
    status, _, data = ctx.eventd.request("POST", path, body, headers)
    eq(status, 200, f"POST {path} {body} -> {data}")
    return data


def check_validation_shape(data, loc=None):
    check(isinstance(data, dict) and isinstance(data.get("detail"), list) and data["detail"], f"422 shape: {data}")
    for d in data["detail"]:
        check(isinstance(d.get("loc"), list) and isinstance(d.get("msg"), str) and isinstance(d.get("type"), str),
              f"422 entry shape: {d}")
    if loc is not None:
        check(any(d["loc"] == loc for d in data["detail"]), f"no error at {loc}: {data}")


# ---- configuration -----------------------------------------------------------

@test
def help_lists_every_setting_and_bad_config_exits_2(ctx):
    r = subprocess.run([EVENTD, "--help"], capture_output=True, text=True, timeout=10)
    eq(r.returncode, 0, "--help exit")
    for name in ["REDIS_URL", "EVENT_SERVICE_HOST", "EVENT_SERVICE_PORT", "EVENT_SERVICE_STREAM",
                 "EVENT_SERVICE_GROUP", "EVENT_SERVICE_RING_SIZE", "EVENT_SERVICE_BATCH_SIZE", "EVENT_SERVICE_TOKEN"]:
        check(name in r.stdout, f"--help lacks {name}")
    for args, env in [(["--port", "99999"], {}), (["--bogus"], {}), ([], {"REDIS_URL": "http://x"}),
                      ([], {"EVENT_SERVICE_RING_SIZE": "3000000"})]:
        e = dict(os.environ)
        e.update(env)
        r = subprocess.run([EVENTD, *args], capture_output=True, text=True, timeout=10, env=e)
        eq(r.returncode, 2, f"exit for {args} {env}")
        eq(len(r.stderr.strip().splitlines()), 1, f"one line on stderr for {args} {env}: {r.stderr!r}")


# ---- simple endpoints ---------------------------------------------------------

@test
def health_types_and_unknown_paths(ctx):
    status, hdrs, h = ctx.eventd.request("GET", "/health")
    eq(status, 200, "health status")
    eq(h["status"], "healthy", "health")
    eq(h["service"], "event_service", "service")
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", h["timestamp"]), "timestamp")
    eq(h["redis"]["connected"], True, "redis connected")
    eq(h["redis"]["breaker"], "closed", "breaker")
    check("lag" in h["persister"] and "fill" in h["ring"], f"health details: {h}")
    status, _, t = ctx.eventd.request("GET", "/events/types")
    eq((status, t), (200, {"event_types": TYPES}), "types")
    status, _, nf = ctx.eventd.request("GET", "/nope")
    eq((status, nf), (404, {"detail": "Not Found"}), "404")
    status, _, _ = ctx.eventd.request("DELETE", "/events")
    eq(status, 405, "405")


# ---- publishing ---------------------------------------------------------------

@test
def publish_answers_the_redis_message_id_after_persisting(ctx):
    r = publish(ctx, {"event_type": "trading_signal", "source": "strategy_a",
                      "data": {"symbol": "BTC/USDT", "action": "BUY", "confidence": 0.85},
                      "metadata": {"trace_id": "t-1"}})
    eq(r["status"], "published", "status")
    check(STREAM_ID.match(r["message_id"]) and UUID.match(r["event_id"]), f"ids: {r}")
    entry = ctx.redis.client().command("XRANGE", "tradpal_events", r["message_id"], r["message_id"])
    eq(len(entry), 1, "entry in stream")
    ev = json.loads(dict(zip(entry[0][1][::2], entry[0][1][1::2]))["event"])
    eq(ev["event_id"], r["event_id"], "event id")
    eq(ev["source"], "strategy_a", "source")
    eq(ev["data"], {"symbol": "BTC/USDT", "action": "BUY", "confidence": 0.85}, "data")
    eq(ev["metadata"], {"trace_id": "t-1"}, "metadata")
    r = publish(ctx, {"event_type": "order_executed", "data": {"qty": 2}})
    ev = [e for i, e in ctx.redis.client().entries() if i == r["message_id"]][0]
    eq((ev["source"], ev["metadata"]), ("api", {}), "defaults")


@test
def invalid_utf8_in_requests_never_reaches_answers_raw(ctx):
    # Every answer is UTF-8 JSON whatever bytes came in: query, path, header
    # or body. Bytes that are not UTF-8 come back replaced or escaped.
    bad = b"\xff\xfe\xc3\x28"
    requests = [
        b"GET /events?event_type=%FF%FE HTTP/1.1\r\n",
        b"GET /events?event_type=" + bad + b" HTTP/1.1\r\n",
        b"GET /events?limit=" + bad + b" HTTP/1.1\r\n",
        b"GET /events?start_time=" + bad + b" HTTP/1.1\r\n",
        b"GET /events/" + bad + b" HTTP/1.1\r\n",
        b"POST /events/replay?event_type=%C3%28 HTTP/1.1\r\nContent-Length: 0\r\n",
        b"GET /events/stream?from=" + bad + b" HTTP/1.1\r\n",
        b"GET /events/stream HTTP/1.1\r\nLast-Event-ID: " + bad + b"\r\n",
    ]
    bodies = [
        (b"/events", b'{"event_type": "' + bad + b'"}'),
        (b"/events", b'{"event_type": "risk_alert", "data": {"k' + bad + b'": 1}}'),
        (b"/events", b'{"event_type": "risk_alert", "source": "' + bad + b'"}'),
        (b"/events/market-data", b'{"symbol": "' + bad + b'", "price": 1}'),
        (b"/events/trading-signal", b'{"symbol": "X", "signal": "' + bad + b'", "confidence": 1}'),
    ]
    for path, body in bodies:
        requests.append(b"POST " + path + b" HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    for req in requests:
        if not req.endswith(b"}"):
            req += b"Host: t\r\nConnection: close\r\n\r\n"
        else:
            req = req.replace(b" HTTP/1.1\r\n", b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n", 1)
        with socket.create_connection(("127.0.0.1", ctx.eventd.port), timeout=5) as s:
            s.sendall(req)
            answer = b""
            try:
                while chunk := s.recv(65536):
                    answer += chunk
                    if b"\r\n\r\n" in answer and b"text/event-stream" in answer:
                        break  # a stream that opened: its head is all we check
            except socket.timeout:
                pass
        head, _, payload = answer.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 "), f"{req[:60]!r}: {answer[:80]!r}")
        try:
            head.decode("utf-8")
            text = payload.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError(f"{req[:70]!r} answered bytes that are not UTF-8: {answer[:300]!r}") from e
        if b"application/json" in head:
            json.loads(text)


@test
def publish_rejects_bad_bodies_with_fastapi_shapes(ctx):
    cases = [
        ({"source": "no_type"}, 422, ["body", "event_type"]),
        ({"event_type": 5}, 422, ["body", "event_type"]),
        ({"event_type": None}, 422, ["body", "event_type"]),
        ({"event_type": "risk_alert", "data": [1]}, 422, ["body", "data"]),
        ({"event_type": "risk_alert", "data": "x"}, 422, ["body", "data"]),
        ({"event_type": "risk_alert", "metadata": 3}, 422, ["body", "metadata"]),
        ({"event_type": "risk_alert", "source": 1}, 422, ["body", "source"]),
        ("{not json", 422, None),
        ('{"event_type": "risk_alert", "data": {"a": tru}}', 422, None),
        ("[1, 2]", 422, ["body"]),
        ("", 422, ["body"]),
        # Valid as a body, refused by the bus (a source past 65,535 bytes).
        ({"event_type": "risk_alert", "source": "s" * 70000}, 422, ["body"]),
    ]
    for body, want, loc in cases:
        status, _, data = ctx.eventd.request("POST", "/events", body)
        eq(status, want, f"status for {body!r}: {data}")
        check_validation_shape(data, loc)
    status, _, data = ctx.eventd.request("POST", "/events", {"event_type": "not_a_type", "data": {}})
    eq((status, data), (400, {"detail": "Invalid event type: 'not_a_type' is not a valid EventType"}), "unknown type")
    # Validation comes first, as in FastAPI: a bad type with a bad field is 422.
    status, _, _ = ctx.eventd.request("POST", "/events", {"event_type": "not_a_type", "data": 1})
    eq(status, 422, "422 before 400")


@test
def convenience_endpoints_publish_as_the_python_functions(ctx):
    a = publish(ctx, {"symbol": "BTC/USDT", "market_data": {"price": 45000.0, "volume": 1234.56}, "source": "feed"},
                "/events/market-data")
    b = publish(ctx, {"signal": {"symbol": "BTC/USDT", "action": "SELL"}}, "/events/trading-signal")
    c = publish(ctx, {"updates": {"pnl": 1000}, "source": "risk"}, "/events/portfolio-update")
    for r in (a, b, c):
        eq(set(r), {"message_id", "status"}, "short answer keys")
    entries = dict(ctx.redis.client().entries())
    eq(entries[a["message_id"]]["event_type"], "market_data_update", "md type")
    eq(entries[a["message_id"]]["data"], {"symbol": "BTC/USDT", "price": 45000.0, "volume": 1234.56}, "md data")
    eq(entries[a["message_id"]]["source"], "feed", "md source")
    eq((entries[b["message_id"]]["event_type"], entries[b["message_id"]]["source"]), ("trading_signal", "api"), "sig")
    eq(entries[c["message_id"]]["data"], {"pnl": 1000}, "portfolio data")
    for path, body, loc in [("/events/market-data", {"symbol": "X"}, ["body", "market_data"]),
                            ("/events/market-data", {"market_data": {}}, ["body", "symbol"]),
                            ("/events/trading-signal", {}, ["body", "signal"]),
                            ("/events/portfolio-update", {"updates": 1}, ["body", "updates"])]:
        status, _, data = ctx.eventd.request("POST", path, body)
        eq(status, 422, f"{path} {body}")
        check_validation_shape(data, loc)


# ---- reading ------------------------------------------------------------------

@test
def convenience_endpoints_store_readable_data_whatever_the_white_space(ctx):
    # The client's white space around and inside the object must never
    # change what is stored: every acknowledged event reads back as JSON.
    bodies = [
        ('/events/market-data', '{"symbol": "W1", "market_data": {"p": 1} }'),
        ('/events/market-data', '{"symbol":"W2","market_data":{"p":2}\n,"source":"s"}'),
        ('/events/market-data', '{"symbol": "W3", "market_data": {\r\n"p": 3\r\n}\r\n}'),
        ('/events/market-data', '{"symbol": "W4", "market_data": { } }'),
        ('/events/market-data', '{"market_data": {"p": 5}\t, "symbol": "W5"}'),
        ('/events/trading-signal', '{"signal": {"a": 6} }'),
        ('/events/portfolio-update', '{"updates": {\n"b": 7\n} \n}'),
    ]
    ids = []
    for path, body in bodies:
        status, _, r = ctx.eventd.request("POST", path, body)
        eq(status, 200, f"{path} {body!r}: {r}")
        ids.append(r["message_id"])
    stored = dict(ctx.redis.client().entries())
    want = [{"symbol": "W1", "p": 1}, {"symbol": "W2", "p": 2}, {"symbol": "W3", "p": 3}, {"symbol": "W4"},
            {"symbol": "W5", "p": 5}, {"a": 6}, {"b": 7}]
    for i, w in zip(ids, want):
        check(i in stored, f"{i} stored and readable")
        eq(stored[i]["data"], w, f"data of {i}")


@test
def get_events_returns_the_most_recent_matching_events_oldest_first(ctx):
    ids = [publish(ctx, {"event_type": "risk_alert", "data": {"n": n}})["message_id"] for n in range(5)]
    publish(ctx, {"event_type": "system_health", "data": {}})
    status, _, r = ctx.eventd.request("GET", "/events?event_type=risk_alert&limit=3")
    eq(status, 200, "status")
    eq(r["count"], 3, "count")
    eq([e["data"]["n"] for e in r["events"]], [2, 3, 4], "most recent three, oldest first")
    eq(r["message_ids"], ids[2:], "each event's message id beside it, in the same order")
    for e in r["events"]:
        eq(set(e), {"event_type", "event_id", "timestamp", "source", "data", "metadata"}, "event keys")
    status, _, r = ctx.eventd.request("GET", "/events?limit=2")
    eq([e["event_type"] for e in r["events"]], ["risk_alert", "system_health"], "unfiltered")
    # A start time: the first matching events from there on.
    ms = int(ids[1].split("-")[0])
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%03d" % (ms % 1000)
    status, _, r = ctx.eventd.request("GET", f"/events?event_type=risk_alert&limit=2&start_time={start}")
    eq(status, 200, f"start_time status {r}")
    check([e["data"]["n"] for e in r["events"]][0] <= 1, f"start_time: {r}")
    status, _, r = ctx.eventd.request("GET", "/events?start_time=2000-01-01T00:00:00&end_time=2000-01-02T00:00:00")
    eq((status, r), (200, {"events": [], "count": 0, "message_ids": []}), "empty window")


@test
def get_events_rejects_bad_queries(ctx):
    status, _, r = ctx.eventd.request("GET", "/events?limit=5000")
    eq(status, 422, "limit > 1000")
    eq(r["detail"][0]["loc"], ["query", "limit"], "loc")
    eq(r["detail"][0]["type"], "value_error.number.not_le", "type")
    for q in ["limit=abc", "limit=-1", "start_time=yesterday", "end_time=2026-13-01"]:
        status, _, r = ctx.eventd.request("GET", "/events?" + q)
        eq(status, 422, q)
        check_validation_shape(r)
    status, _, r = ctx.eventd.request("GET", "/events?event_type=bogus")
    eq((status, r), (400, {"detail": "Invalid event type: 'bogus' is not a valid EventType"}), "bad type")


@test
def stats_report_the_stream_and_its_groups(ctx):
    publish(ctx, {"event_type": "risk_alert", "data": {}})
    status, _, s = ctx.eventd.request("GET", "/events/stats")
    eq(status, 200, "status")
    xlen = ctx.redis.client().command("XLEN", "tradpal_events")
    eq(s["stream_length"], xlen, "length")
    check(STREAM_ID.match(s["first_entry"][0]) and "event" in s["first_entry"][1], f"first entry {s}")
    json.loads(s["last_entry"][1]["event"])
    eq(s["consumer_groups"], len(s["groups"]), "groups")
    g = [g for g in s["groups"] if g["name"] == "tradpal_consumers"]
    eq(len(g), 1, "default group created")
    check({"name", "consumers", "pending", "last-delivered-id", "lag"} <= set(g[0]), f"group keys {g}")
    check("persister_lag" in s, "lag")


@test
def replay_republishes_into_the_bus_without_writing_back(ctx):
    sse = SseClient(ctx.eventd.port, "/events/stream?event_type=ml_model_update")
    try:
        for n in range(3):
            publish(ctx, {"event_type": "ml_model_update", "data": {"n": n}})
        for n in range(3):
            eq(json.loads(sse.next_event()["data"])["data"]["n"], n, "live event")
        before = ctx.redis.client().command("XLEN", "tradpal_events")
        want = sum(1 for _, e in ctx.redis.client().entries() if e["event_type"] == "ml_model_update")
        status, _, r = ctx.eventd.request("POST", "/events/replay?event_type=ml_model_update")
        eq((status, r), (200, {"status": "replay_complete", "events_replayed": want}), "replay answer")
        got = [json.loads(sse.next_event()["data"])["data"]["n"] for _ in range(want)]
        eq(got[-3:], [0, 1, 2], "replayed events reach subscribers in order")
        wait_until(lambda: ctx.eventd.request("GET", "/health")[2]["persister"]["lag"] == 0, 5, "lag 0")
        eq(ctx.redis.client().command("XLEN", "tradpal_events"), before, "replayed events not re-persisted")
        status, _, r = ctx.eventd.request("POST", "/events/replay?event_type=nope")
        eq(status, 400, "replay bad type")
    finally:
        sse.close()


# ---- HTTP behaviour -----------------------------------------------------------

@test
def keep_alive_and_pipelining_answer_in_order(ctx):
    c = ctx.eventd.connection()
    try:
        for n in range(5):
            c.request("POST", "/events", body=json.dumps({"event_type": "risk_alert", "data": {"k": n}}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            eq(r.status, 200, "keep-alive publish")
            r.read()
            c.request("GET", "/health")
            r = c.getresponse()
            eq(r.status, 200, "keep-alive health")
            r.read()
    finally:
        c.close()
    s = socket.create_connection(("127.0.0.1", ctx.eventd.port), timeout=10)
    try:
        reqs = b""
        for n in range(4):
            body = json.dumps({"event_type": "rl_action_taken", "data": {"p": n}}).encode()
            reqs += (b"POST /events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        reqs += b"GET /events/types HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        s.sendall(reqs)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    bodies = re.findall(rb"\r\n\r\n(\{.*?\})(?=HTTP/1.1|$)", data, re.S)
    eq(len(bodies), 5, f"five answers: {data[:400]!r}")
    ids = [json.loads(b)["message_id"] for b in bodies[:4]]
    eq(ids, sorted(ids, key=lambda i: tuple(map(int, i.split("-")))), "pipelined answers in request order")
    entries = dict(ctx.redis.client().entries())
    eq([entries[i]["data"]["p"] for i in ids], [0, 1, 2, 3], "each answer names its own event")
    check(b"event_types" in bodies[4], "last answer")


@test
def concurrent_clients_each_get_their_own_message_id(ctx):
    results, errors = [], []

    def worker(w):
        try:
            c = ctx.eventd.connection()
            for n in range(25):
                c.request("POST", "/events", body=json.dumps({"event_type": "order_executed",
                                                              "data": {"w": w, "n": n}}),
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                body = json.loads(r.read())
                if r.status != 200:
                    errors.append((r.status, body))
                else:
                    results.append((w, n, body["message_id"]))
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    eq(errors, [], "errors")
    eq(len(results), 200, "answers")
    eq(len({r[2] for r in results}), 200, "distinct ids")
    entries = dict(ctx.redis.client().entries())
    for w, n, mid in results:
        eq((entries[mid]["data"]["w"], entries[mid]["data"]["n"]), (w, n), f"entry {mid}")


# ---- the live stream ------------------------------------------------------------

@test
def stream_delivers_filtered_events_with_ids_and_resumes(ctx):
    sse = SseClient(ctx.eventd.port, "/events/stream?event_type=backtest_complete&event_type=risk_alert")
    try:
        eq(sse.status, 200, "stream status")
        check("text/event-stream" in sse.head, sse.head)
        ids = []
        for n in range(3):
            publish(ctx, {"event_type": "system_health", "data": {"skip": n}})
            ids.append(publish(ctx, {"event_type": "backtest_complete", "data": {"n": n}})["message_id"])
        got = [sse.next_event() for _ in range(3)]
        eq([g["id"] for g in got], ids, "ids are the Redis message ids")
        eq([g["event"] for g in got], ["backtest_complete"] * 3, "filtered")
        eq([json.loads(g["data"])["data"]["n"] for g in got], [0, 1, 2], "in order")
        # A heartbeat comes when nothing happens.
        b = sse.next_block(3)
        while not b["comments"]:
            b = sse.next_block(3)
    finally:
        sse.close()
    # Resume after the first: the gap comes from Redis, then live continues.
    resumed = SseClient(ctx.eventd.port, "/events/stream?event_type=backtest_complete",
                        headers={"Last-Event-ID": ids[0]})
    try:
        eq([resumed.next_event()["id"] for _ in range(2)], ids[1:], "gap after Last-Event-ID")
        live = publish(ctx, {"event_type": "backtest_complete", "data": {"n": 3}})["message_id"]
        eq(resumed.next_event()["id"], live, "live after the gap, nothing repeated")
    finally:
        resumed.close()
    q = SseClient(ctx.eventd.port, f"/events/stream?event_type=backtest_complete&from={ids[1]}")
    try:
        eq(q.next_event()["id"], ids[2], "?from= resumes too")
    finally:
        q.close()
    for path in ["/events/stream?event_type=bogus", "/events/stream?from=notanid"]:
        status, _, _ = ctx.eventd.request("GET", path)
        check(status in (400, 422), f"{path}: {status}")


def load_fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return [json.loads(line) for line in f if line.strip()]


def xadd_raw(client, entry, stream="tradpal_events"):
    args = ["XADD", stream, entry["id"]]
    for k, v in entry["fields"].items():
        args += [k, v]
    return client.command(*args)


@test
def stream_carries_every_writers_entries_in_order_with_their_ids(ctx):
    # The recorded entries have fixed ids: a Redis and an eventd of their own.
    redis = RedisServer()
    d = Eventd(EVENTD, redis.url)
    sse = None
    try:
        d.wait_healthy()
        sse = SseClient(d.port, "/events/stream")
        wait_until(lambda: d.request("GET", "/health")[2]["stream"]["position"] is not None, 5, "tail position")
        c = redis.client()
        # The edge cases' ids come first in the stream, then the recordings'.
        edge = load_fixture("tradpal_stream_edge.jsonl")
        recorded = load_fixture("tradpal_stream.jsonl")
        for e in edge + recorded:
            xadd_raw(c, e)
        want = [e for e in edge + recorded if e.get("expect", "accept") == "accept"]
        got = [sse.next_event() for _ in want]
        eq([g["id"] for g in got], [e["id"] for e in want], "every decodable entry, in order, with its id")
        for g, e in zip(got, want):
            stored = json.loads(e["fields"]["event"])
            ev = json.loads(g["data"])
            eq((g["event"], ev["event_type"], ev["event_id"]), (stored["event_type"],) * 2 + (stored["event_id"],),
               f"entry {e['id']}")
            eq(ev["data"], stored["data"], f"data of {e['id']}")
        # What is not a TradPal event is counted, not sent.
        skipped = sum(1 for e in edge if e.get("expect") == "skip-and-count")
        check(skipped > 0, "the edge file has entries to skip")
        _, _, text = d.request("GET", "/metrics", raw=True)
        m = re.search(r'event_service_events_dropped_total\{reason="undecodable_entry"\} (\S+)', text)
        eq(float(m.group(1)) if m else None, float(skipped), "undecodable entries counted")
        eq(d.request("GET", "/health")[2]["stream"]["undecodable"], skipped, "health shows them")
    finally:
        if sse:
            sse.close()
        d.close()
        redis.close()


@test
def two_eventd_on_one_redis_each_stream_the_others_events(ctx):
    other = Eventd(EVENTD, ctx.redis.url)
    a = b = None
    try:
        other.wait_healthy()
        a = SseClient(ctx.eventd.port, "/events/stream?event_type=rl_action_taken")
        b = SseClient(other.port, "/events/stream?event_type=rl_action_taken")
        for d in (ctx.eventd, other):
            wait_until(lambda: d.request("GET", "/health")[2]["stream"]["position"] is not None, 5, "tail position")
        ids = []
        for n in range(6):
            d = ctx.eventd if n % 2 == 0 else other
            status, _, r = d.request("POST", "/events", {"event_type": "rl_action_taken", "data": {"n": n}})
            eq(status, 200, f"publish {r}")
            ids.append(r["message_id"])
        for client, name in ((a, "first"), (b, "second")):
            got = [client.next_event() for _ in ids]
            eq([g["id"] for g in got], ids, f"{name} eventd streams both eventd's events in stream order")
            eq([json.loads(g["data"])["data"]["n"] for g in got], list(range(6)), f"{name}: data")
    finally:
        for c in (a, b):
            if c:
                c.close()
        other.close()


@test
def a_redis_cli_style_xadd_reaches_the_stream(ctx):
    sse = SseClient(ctx.eventd.port, "/events/stream?event_type=onchain_data_update")
    try:
        wait_until(lambda: ctx.eventd.request("GET", "/health")[2]["stream"]["connected"], 5, "tail connected")
        event = {"event_type": "onchain_data_update", "event_id": "0b7a4d0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                 "timestamp": "2026-11-30T10:00:00.123456", "source": "python_service", "data": {"gas": 12},
                 "metadata": {}}
        entry_id = ctx.redis.client().command("XADD", "tradpal_events", "*", "event", json.dumps(event))
        got = sse.next_event()
        eq(got["id"], entry_id, "the id Redis gave it")
        eq(json.loads(got["data"]), event, "the event as written")
    finally:
        sse.close()


@test
def stream_resumes_across_an_eventd_restart(ctx):
    redis = RedisServer()
    d = Eventd(EVENTD, redis.url)
    try:
        d.wait_healthy()
        sse = SseClient(d.port, "/events/stream?event_type=market_regime_change")
        wait_until(lambda: d.request("GET", "/health")[2]["stream"]["position"] is not None, 5, "tail position")
        first = publish(type("C", (), {"eventd": d})(), {"event_type": "market_regime_change", "data": {"n": 0}})
        eq(sse.next_event()["id"], first["message_id"], "live before the restart")
        sse.close()
        eq(d.terminate(), 0, "clean exit")
        d.close()
        # Written while no eventd runs: the resumed client must get them.
        c = redis.client()
        gap = []
        for n in (1, 2):
            ev = {"event_type": "market_regime_change", "event_id": f"00000000-0000-4000-8000-00000000000{n}",
                  "timestamp": "2026-11-30T10:00:00", "source": "python", "data": {"n": n}, "metadata": {}}
            gap.append(c.command("XADD", "tradpal_events", "*", "event", json.dumps(ev)))
        d = Eventd(EVENTD, redis.url)
        d.wait_healthy()
        sse = SseClient(d.port, "/events/stream?event_type=market_regime_change",
                        headers={"Last-Event-ID": first["message_id"]})
        eq([sse.next_event()["id"] for _ in gap], gap, "the gap, from Redis")
        live = publish(type("C", (), {"eventd": d})(), {"event_type": "market_regime_change", "data": {"n": 3}})
        nxt = sse.next_event()
        eq((nxt["id"], json.loads(nxt["data"])["data"]), (live["message_id"], {"n": 3}), "then live, nothing repeated")
        sse.close()
    finally:
        d.close()
        redis.close()


def xadd_event(client, event_type, event_id, data):
    """XADDs a TradPal event as another writer would; returns its stream id."""
    return client.command("XADD", "tradpal_events", "*", "event", json.dumps(
        {"event_type": event_type, "event_id": event_id, "timestamp": "2026-11-30T10:00:00", "source": "t",
         "data": data, "metadata": {}}))


def read_all_events(sse, count, timeout):
    """The next `count` events of `sse` (each within `timeout` s); fails on a
    `missed` note or a wait, saying how far it got."""
    got = []
    while len(got) < count:
        try:
            e = sse.next_event(timeout)
        except AssertionError as err:
            raise AssertionError(f"after {len(got)} of {count} events: {err}") from None
        check(e["event"] != "missed", f"told it missed events after {len(got)}: {e['data']}")
        got.append(e)
    return got


@test
def slow_live_client_reads_on_from_redis_and_misses_nothing(ctx):
    # ~8 MB published while a live client reads nothing: past what the
    # kernel buffers on both sides (up to 4 MiB) plus the 1 MiB the server
    # holds unsent for a stream. The client falls back to reading the stream
    # from Redis after the last event it was sent, and gets every event in
    # order, with no `missed` note; the catch-up is counted.
    catch_ups = "event_service_stream_catch_ups_total"
    drops = 'event_service_events_dropped_total{reason="stream_client_slow"}'
    before = scrape(ctx)
    sse = SseClient(ctx.eventd.port, "/events/stream?event_type=feature_vector_update", rcvbuf=4096)
    try:
        big = "x" * 20000
        c = ctx.eventd.connection()
        ids = []
        for n in range(400):
            c.request("POST", "/events", body=json.dumps({"event_type": "feature_vector_update",
                                                          "data": {"n": n, "pad": big}}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            body = json.loads(r.read())
            eq(r.status, 200, "publish")
            ids.append(body["message_id"])
        c.close()
        got = read_all_events(sse, len(ids), 20)
        eq([e["id"] for e in got], ids, "every event, in stream order")
        eq([json.loads(e["data"])["data"]["n"] for e in got], list(range(400)), "each once")
    finally:
        sse.close()
    after = scrape(ctx)
    check(after[catch_ups] > before.get(catch_ups, 0.0), "the catch-up counted")
    eq(after.get(drops, 0.0), before.get(drops, 0.0), "nothing dropped for the slow client")


@test
def slow_client_resuming_a_large_backlog_gets_all_of_it(ctx):
    # ~8 MB of stored events after the client's Last-Event-ID: eight times
    # what the server holds unsent for a stream. The gap is in Redis, so it
    # is read as fast as the client takes it: nothing is missed.
    c = ctx.redis.client()
    start = xadd_event(c, "sentiment_data_update", "00000000-0000-4000-8000-000000000000", {"n": -1})
    big = "x" * 20000
    ids = [xadd_event(c, "sentiment_data_update", f"00000000-0000-4000-8000-{n:012d}", {"n": n, "pad": big})
           for n in range(400)]
    sse = SseClient(ctx.eventd.port, "/events/stream?event_type=sentiment_data_update",
                    headers={"Last-Event-ID": start}, rcvbuf=4096)
    try:
        time.sleep(1.0)  # reads nothing for a while: every buffer on the way fills up
        eq([e["id"] for e in read_all_events(sse, len(ids), 20)], ids, "the whole backlog, in order")
    finally:
        sse.close()


@test
def resuming_client_overrun_by_live_events_gets_every_one(ctx):
    # A client resumes a backlog and reads nothing while 5000 live events
    # come: more than the 4096 a resuming client may hold queued. The queue
    # is dropped and the gap reads on over it from Redis: every stored and
    # live event arrives once, in stream order, and nothing is called missed.
    c = ctx.redis.client()
    start = xadd_event(c, "economic_data_update", "00000000-0000-4000-8000-100000000000", {"n": -1})
    big = "x" * 20000
    ids = []

    def add(n, data):
        ids.append(xadd_event(c, "economic_data_update", f"00000000-0000-4000-8000-2{n:011d}", data))

    for n in range(300):
        add(n, {"n": n, "pad": big})  # 6 MB of backlog
    sse = SseClient(ctx.eventd.port, "/events/stream?event_type=economic_data_update",
                    headers={"Last-Event-ID": start}, rcvbuf=4096)
    try:
        for n in range(300, 5300):
            add(n, {"n": n})
        time.sleep(0.5)  # reads nothing meanwhile
        eq([e["id"] for e in read_all_events(sse, len(ids), 30)], ids,
           "the backlog and the live events, each once, in order")
    finally:
        sse.close()


@test
def a_client_that_sends_and_never_reads_costs_bounded_memory(ctx):
    # Each 40-byte request earns a 500-byte answer. A client that pipelines
    # them and reads nothing must be held back by TCP, not buffered for.
    pid = ctx.eventd.proc.pid
    before = rss_kib(pid)
    s = socket.create_connection(("127.0.0.1", ctx.eventd.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    request = b"GET /events/types HTTP/1.1\r\nHost: t\r\n\r\n" * 1000
    sent, deadline, blocked_since = 0, time.monotonic() + 20, None
    while time.monotonic() < deadline and sent < 200 * 1024 * 1024:
        try:
            sent += s.send(request)
            blocked_since = None
        except BlockingIOError:
            blocked_since = blocked_since or time.monotonic()
            if time.monotonic() - blocked_since > 1.0:
                break  # held back for a second: the server stopped reading us
            time.sleep(0.01)
    grown_mib = (rss_kib(pid) - before) / 1024
    s.close()
    check(sent < 200 * 1024 * 1024, f"the server kept reading: {sent} bytes taken")
    # AddressSanitizer keeps freed memory in quarantine (up to 256 MiB), so
    # its build is allowed more; unbounded, the answers to what was sent
    # would be gigabytes either way.
    bound = 192 if "ASAN_OPTIONS" in os.environ else 48
    check(grown_mib < bound, f"eventd grew by {grown_mib:.0f} MiB (bound {bound}) for a client that never reads "
                             f"({sent} bytes sent)")
    eq(ctx.eventd.request("GET", "/health")[0], 200, "still serving")


# ---- metrics --------------------------------------------------------------------

METRIC_LINE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? '
    r'(-?[0-9.eE+-]+|NaN|[+-]Inf)( -?\d+)?$')


def scrape(ctx):
    status, hdrs, text = ctx.eventd.request("GET", "/metrics", raw=True)
    eq(status, 200, "metrics status")
    check(hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs["content-type"])
    values = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            check(re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$", line), f"comment line: {line!r}")
            continue
        check(METRIC_LINE.match(line), f"malformed sample line: {line!r}")
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


@test
def metrics_are_well_formed_and_move(ctx):
    before = scrape(ctx)
    key = 'event_service_events_published_total{event_type="economic_data_update"}'
    for name in ["event_service_active_subscribers", "event_service_stream_length", "event_service_redis_up",
                 'event_service_events_consumed_total{event_type="economic_data_update"}', key,
                 "event_service_publish_persisted_seconds_count", "event_service_persist_batch_size_count"]:
        check(name in before, f"missing {name}")
    sse = SseClient(ctx.eventd.port, "/events/stream?event_type=economic_data_update")
    try:
        publish(ctx, {"event_type": "economic_data_update", "data": {"gdp": 1}})
        sse.next_event()
        after = scrape(ctx)
        eq(after[key], before[key] + 1, "published counter")
        consumed = 'event_service_events_consumed_total{event_type="economic_data_update"}'
        eq(after[consumed], before[consumed] + 1, "consumed counter")
        eq(after["event_service_active_subscribers"], 1.0, "subscribers now")
        eq(after["event_service_stream_length"], float(ctx.redis.client().command("XLEN", "tradpal_events")), "len")
        check(after["event_service_publish_persisted_seconds_count"] > before["event_service_publish_persisted_seconds_count"],
              "latency histogram")
        check(any(k.startswith("event_service_http_requests_total{") and 'route="/events"' in k for k in after),
              "http requests by route")
    finally:
        sse.close()
    # A subscriber that hung up is not counted: the gauge is true at scrape
    # time, not at the next heartbeat's sweep. (An HTTP/1.1 client, as curl.)
    s = socket.create_connection(("127.0.0.1", ctx.eventd.port), timeout=5)
    s.sendall(b"GET /events/stream HTTP/1.1\r\nHost: t\r\n\r\n")
    got = b""
    while b": connected" not in got:
        got += s.recv(4096)
    eq(scrape(ctx)["event_service_active_subscribers"], 1.0, "HTTP/1.1 subscriber counted")
    s.close()
    wait_until(lambda: scrape(ctx)["event_service_active_subscribers"] == 0.0, 2, "hung-up subscriber uncounted")


# ---- the recorded Python requests ------------------------------------------------

@test
def observed_python_requests_meet_the_contract(ctx):
    # Where the Python service was broken, CONTRACT.md §2 says what is right.
    overrides = {
        ("POST", "/events", '{"source": "no_type"}'): 422,
        ("POST", "/events/market-data", '{"symbol": "BTC/USDT"}'): 422,
    }
    for line in open(os.path.join(FIXTURES, "tradpal_http_observed.jsonl")):
        rec = json.loads(line)
        req = rec["request"]
        body = req["body"]
        raw = body if isinstance(body, str) or body is None else json.dumps(body)
        status, hdrs, data = ctx.eventd.request(req["method"], req["path"], raw)
        what = f"{req['method']} {req['path']} {raw}"
        want = overrides.get((req["method"], req["path"], raw), rec["status"])
        if rec["status"] == 500 and want == 500:
            want = 200  # the convenience endpoints work here
        eq(status, want, what)
        check(hdrs["content-type"].startswith(rec["content_type"]), f"{what}: content type")
        if want == 200 and req["path"].startswith("/events/") and req["method"] == "POST" \
                and not req["path"].startswith("/events/replay"):
            eq(set(data), {"message_id", "status"}, what)
        elif want == 200 and req["path"] == "/events" and req["method"] == "POST":
            eq(set(data), set(rec["response"]), what)
            eq(data["status"], "published", what)
        elif req["path"].startswith("/events?") and want == 200:
            check(data["count"] == len(data["events"]) and data["count"] > 0, f"{what}: events returned")
        elif req["path"].startswith("/events/replay"):
            check(data["status"] == "replay_complete" and data["events_replayed"] > 0, f"{what}: {data}")
        elif req["path"] == "/events/stats":
            eq(set(rec["response"]) - set(data), set(), f"{what}: keys")
        elif req["path"] == "/health":
            eq((data["status"], data["service"]), ("healthy", "event_service"), what)
        elif want == 422:
            check_validation_shape(data)
        elif want in (400, 404) or req["path"] == "/events/types":
            eq(data, rec["response"], what)


# ---- token, outage, shutdown (their own processes) --------------------------------

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")


@test
def schemas_refuse_bad_payloads_with_a_loc_into_the_body_and_store_nothing(ctx):
    d = Eventd(EVENTD, ctx.redis.url, env={"EVENT_SERVICE_SCHEMAS": SCHEMAS})
    try:
        d.wait_healthy()
        check("validating payloads against 16 schemas" in d.output(), d.output())
        before = ctx.redis.client().command("XLEN", "tradpal_events")
        cases = [
            ("/events", {"event_type": "market_data_update", "data": {"symbol": "BTC", "price": "high"}},
             ["body", "data", "price"]),
            ("/events", {"event_type": "market_data_update", "data": {"price": 1}}, ["body", "data", "symbol"]),
            ("/events", {"event_type": "portfolio_update", "data": {"positions": [{"qty": 1}, {"qty": "x"}]}},
             ["body", "data", "positions", 1, "qty"]),
            ("/events/market-data", {"symbol": "BTC", "market_data": {"price": -1}}, ["body", "market_data", "price"]),
            ("/events/market-data", {"symbol": "", "market_data": {"price": 1}}, ["body", "symbol"]),
            ("/events/trading-signal", {"signal": {"action": "BUY", "confidence": 2}}, ["body", "signal", "confidence"]),
        ]
        for path, body, loc in cases:
            status, _, r = d.request("POST", path, body)
            eq(status, 422, f"{path} {body}: {r}")
            eq(r["detail"][0]["loc"], loc, f"loc of {body}")
            eq(r["detail"][0]["type"], "value_error.jsonschema", "type")
            check(r["detail"][0]["msg"] and r["detail"][0]["ctx"]["schema_path"].startswith("/"), f"{r}")
        eq(ctx.redis.client().command("XLEN", "tradpal_events"), before, "nothing stored")
        # Valid payloads (the recorded shapes) pass and are stored.
        for path, body in [
            ("/events", {"event_type": "market_data_update", "data": {"symbol": "BTC/USDT", "price": 45000.0}}),
            ("/events/market-data", {"symbol": "BTC/USDT", "market_data": {"price": 45000.0, "volume": 1234.56}}),
            ("/events/market-data", {"symbol": "BTC/USDT", "market_data": {}}),
            ("/events/trading-signal", {"signal": {"symbol": "BTC/USDT", "action": "SELL", "confidence": 0.6}}),
            ("/events", {"event_type": "economic_data_update", "data": {"cpi": 0.32, "nan_like": "NaN"}}),
        ]:
            status, _, r = d.request("POST", path, body)
            eq(status, 200, f"{path} {body}: {r}")
        eq(ctx.redis.client().command("XLEN", "tradpal_events"), before + 5, "the valid ones stored")
    finally:
        d.close()
    # A directory with a schema eventd cannot load: it says which and exits 2.
    bad = tempfile.mkdtemp()
    try:
        with open(os.path.join(bad, "risk_alert.json"), "w") as f:
            f.write('{"type": "object", "minimun": 1}')
        out = subprocess.run([EVENTD], env=dict(os.environ, REDIS_URL=ctx.redis.url, EVENT_SERVICE_PORT="0",
                                                EVENT_SERVICE_SCHEMAS=bad), capture_output=True, text=True, timeout=10)
        eq(out.returncode, 2, out.stderr)
        check("risk_alert.json" in out.stderr and "minimun" in out.stderr, out.stderr)
    finally:
        shutil.rmtree(bad, ignore_errors=True)


@test
def token_guards_post_endpoints(ctx):
    d = Eventd(EVENTD, ctx.redis.url, env={"EVENT_SERVICE_TOKEN": "s3cret"})
    try:
        d.wait_healthy()
        status, hdrs, r = d.request("POST", "/events", {"event_type": "risk_alert"})
        eq(status, 401, "no token")
        check("bearer" in hdrs.get("www-authenticate", "").lower(), "challenge")
        status, _, _ = d.request("POST", "/events", {"event_type": "risk_alert"}, {"Authorization": "Bearer nope"})
        eq(status, 401, "wrong token")
        status, _, _ = d.request("POST", "/events/replay", None, {"Authorization": "Bearer s3cre"})
        eq(status, 401, "prefix of the token")
        status, _, _ = d.request("POST", "/events", {"event_type": "risk_alert"}, {"Authorization": "Bearer s3cret"})
        eq(status, 200, "right token")
        for scheme in ("bearer", "BEARER", "Bearer  "):
            status, _, _ = d.request("POST", "/events", {"event_type": "risk_alert"},
                                     {"Authorization": f"{scheme} s3cret"})
            eq(status, 200, f"scheme {scheme!r} (case-insensitive, spaces)")
        status, _, _ = d.request("POST", "/events", {"event_type": "risk_alert"}, {"Authorization": "Basic s3cret"})
        eq(status, 401, "another scheme")
        # A credential in a chunked body's trailer is not a header.
        body = b'{"event_type": "risk_alert"}'
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            s.sendall(b"POST /events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                      b"%x\r\n%s\r\n0\r\nAuthorization: Bearer s3cret\r\n\r\n" % (len(body), body))
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        check(answer.startswith(b"HTTP/1.1 401"), f"token from a trailer: {answer[:60]!r}")
        eq(d.request("GET", "/events/types")[0], 200, "GET needs no token")
    finally:
        d.close()


@test
def redis_outage_answers_503_quickly_and_recovers(ctx):
    redis = RedisServer()
    d = Eventd(EVENTD, redis.url, env={"EVENT_SERVICE_PUBLISH_TIMEOUT_MS": "1500"})
    try:
        d.wait_healthy()
        redis.stop()
        t0 = time.monotonic()
        status, _, r = d.request("POST", "/events", {"event_type": "risk_alert"})
        eq(status, 503, f"publish while down: {r}")
        check("Redis" in r["detail"], r)
        check(time.monotonic() - t0 < 3, "no hang")
        wait_until(lambda: d.request("GET", "/health")[0] == 503, 5, "health 503")
        h = d.request("GET", "/health")[2]
        eq((h["status"], h["redis"]["connected"]), ("unhealthy", False), "unhealthy")
        eq(d.request("GET", "/events")[0], 503, "reads say unavailable")
        redis.start()
        d.wait_healthy(15)
        publish(type("C", (), {"eventd": d})(), {"event_type": "risk_alert"})
        log = d.output()
        check("disconnected from Redis" in log and log.count("connected to Redis") >= 2, log)
    finally:
        d.close()
        redis.close()


@test
def redis_refusing_writes_is_steadily_unhealthy_quietly_logged_and_recovers(ctx):
    # Redis answers, but the stream key holds a string: every XADD is refused
    # with WRONGTYPE. Health must not flap to healthy at each reconnect, the
    # log must not grow by a line per reconnect, and once the key is fixed
    # the events held meanwhile are written exactly once.
    redis = RedisServer()
    redis.client().command("SET", "tradpal_events", "not a stream")
    d = Eventd(EVENTD, redis.url, env={"EVENT_SERVICE_PUBLISH_TIMEOUT_MS": "800"})
    try:
        status, _, r = d.request("POST", "/events", {"event_type": "risk_alert", "data": {"held": 1}})
        eq(status, 503, f"publish while refused: {r}")
        wait_until(lambda: "WRONGTYPE" in d.request("GET", "/health")[2]["redis"].get("last_error") or "", 10,
                   "the refusal reported")
        log_before = d.output().count("\n")
        states = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4:
            code, _, h = d.request("GET", "/health")
            states.append((code, h["status"], h["redis"]["refusing_writes"]))
            time.sleep(0.05)
        check(all(c == 503 and s == "unhealthy" and refusing for c, s, refusing in states),
              f"health flapped while refused: {sorted(set(states))}")
        grown = d.output().count("\n") - log_before
        check(grown <= 12, f"{grown} log lines in 4 s while refused:\n{d.output()[-2000:]}")
        status, _, r = d.request("POST", "/events", {"event_type": "risk_alert", "data": {"held": 2}})
        eq(status, 503, f"publish while refused: {r}")
        check("refuses writes" in r["detail"] and "WRONGTYPE" in r["detail"], f"clear detail: {r}")
        redis.client().command("DEL", "tradpal_events")
        d.wait_healthy(15)
        publish(type("C", (), {"eventd": d})(), {"event_type": "risk_alert", "data": {"after": 1}})
        # The second POST was refused at the door; the first may have been
        # taken before the refusal was known, answered 503 at its deadline
        # and written after the fix: once at most either way.
        held = sorted(e["data"].get("held", 0) for _, e in redis.client().entries())
        check(held in ([0], [0, 1]), f"held events written once at most: {held}")
    finally:
        d.close()
        redis.close()


@test
def a_short_descriptor_limit_lowers_max_connections_and_the_rest_get_503(ctx):
    # With 'ulimit -n 300' the 1,024 connections allowed by default cannot
    # all be accepted: eventd must say so and answer the excess 503, never
    # drop connections without an answer.
    d = Eventd("prlimit", ctx.redis.url, args=("--nofile=300:300", EVENTD))
    socks = []
    try:
        d.wait_healthy()
        check("descriptor limit (300)" in d.output(), d.output())
        answers = {"503": 0, "stream": 0, "none": 0}
        for _ in range(260):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            socks.append(s)
            s.sendall(b"GET /events/stream HTTP/1.1\r\nHost: t\r\n\r\n")
            try:
                head = s.recv(4096)
            except OSError:
                head = b""
            if head.startswith(b"HTTP/1.1 503") and b"Too many connections" in head + s.recv(4096):
                answers["503"] += 1
            elif head.startswith(b"HTTP/1.1 200"):
                answers["stream"] += 1
            else:
                answers["none"] += 1
        eq(answers["none"], 0, f"connections without an answer: {answers}")
        check(answers["503"] > 0 and answers["stream"] > 100, f"{answers}")
        for s in socks:
            s.close()
        socks = []
        wait_until(lambda: d.request("GET", "/health")[0] == 200, 10, "serving again after they leave")
    finally:
        for s in socks:
            s.close()
        d.close()


@test
def a_stream_client_that_reads_nothing_is_disconnected_after_the_stall_time(ctx):
    # One client never reads; the other does. Large events fill the idle
    # one's socket buffers within a second; 1.5 s later it must be gone.
    d = Eventd(EVENTD, ctx.redis.url, env={"EVENT_SERVICE_STREAM_STALL_MS": "1500"})
    try:
        d.wait_healthy()
        idle = socket.socket()
        idle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        idle.connect(("127.0.0.1", d.port))
        idle.sendall(b"GET /events/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        reader = SseClient(d.port, "/events/stream?event_type=risk_alert")
        big = {"x": "y" * 200000}
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4:
            publish(type("C", (), {"eventd": d})(), {"event_type": "risk_alert", "data": big})
            reader.next_event(5)
        _, _, text = d.request("GET", "/metrics", raw=True)
        check("event_service_stream_clients_stalled_total 1" in text, "one stalled client counted")
        # The idle client's connection is gone: what it can still read ends.
        idle.settimeout(5)
        got = 0
        while chunk := idle.recv(65536):
            got += len(chunk)
        check(got > 0, "it had been sent something")
        # The client that reads is untouched.
        publish(type("C", (), {"eventd": d})(), {"event_type": "risk_alert", "data": {"after": 1}})
        eq(json.loads(reader.next_event(5)["data"])["data"], {"after": 1}, "the reading client still gets events")
        idle.close()
        reader.close()
    finally:
        d.close()


@test
def a_full_ring_answers_503_and_writes_nothing_of_what_it_refused(ctx):
    # Redis stops for a second; a burst of large events fills the persister's
    # buffer (1 MiB here) and then the ring (1 MiB): the rest are answered
    # 503 at once, and none of those reaches the stream afterwards.
    redis = RedisServer()
    d = Eventd(EVENTD, redis.url, env={"EVENT_SERVICE_RING_SIZE": "1048576",
                                        "EVENT_SERVICE_PERSIST_BUFFER_BYTES": "1048576"})
    results = []
    try:
        d.wait_healthy()

        def burst(w):
            # Pipelined: all twelve are taken before any is answered.
            wire = b""
            for n in range(12):
                body = json.dumps({"event_type": "risk_alert", "data": {"w": w, "n": n, "pad": "p" * 100000}}).encode()
                wire += (b"POST /events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            with socket.create_connection(("127.0.0.1", d.port), timeout=15) as s:
                s.sendall(wire)
                for n, (status, answer) in enumerate(read_answers(s, 12)):
                    results.append(((w, n), status, json.loads(answer)))

        redis.proc.send_signal(signal.SIGSTOP)
        threads = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        redis.proc.send_signal(signal.SIGCONT)
        for t in threads:
            t.join(30)
        full = [key for key, status, r in results if status == 503 and "ring is full" in r.get("detail", "")]
        ok = {key: r["message_id"] for key, status, r in results if status == 200}
        check(full, f"some publishes met the full ring: {[(k, s) for k, s, _ in results]}")
        eq(len(ok) + len(full), len(results), f"200 or ring-full 503: {[(k, s, r) for k, s, r in results if s not in (200, 503)]}")
        stored = {(e["data"]["w"], e["data"]["n"]): i for i, e in redis.client().entries()}
        eq({k: stored.get(k) for k in ok}, ok, "every 200 is in the stream under its id")
        eq([k for k in full if k in stored], [], "nothing answered 'ring is full' was written")
        d.wait_healthy(10)
    finally:
        if redis.proc:
            redis.proc.send_signal(signal.SIGCONT)
        d.close()
        redis.close()


@test
def hung_redis_answers_503_at_the_deadline_and_persists_after_resume(ctx):
    redis = RedisServer()
    d = Eventd(EVENTD, redis.url, env={"EVENT_SERVICE_PUBLISH_TIMEOUT_MS": "700"})
    try:
        d.wait_healthy()
        sse = SseClient(d.port, "/events/stream?event_type=risk_alert")
        wait_until(lambda: d.request("GET", "/health")[2]["stream"]["position"] is not None, 5, "tail position")
        redis.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        status, _, r = d.request("POST", "/events", {"event_type": "risk_alert", "data": {"hung": 1}})
        took = time.monotonic() - t0
        eq(status, 503, f"publish to a hung Redis: {r}")
        check("did not acknowledge" in r["detail"], r)
        check(0.6 <= took < 3, f"answered at the deadline, took {took:.2f}s")
        # The reply timeout drops the connection; health says so.
        wait_until(lambda: d.request("GET", "/health")[2]["status"] == "unhealthy", 10, "unhealthy while hung")
        redis.proc.send_signal(signal.SIGCONT)
        d.wait_healthy(15)
        # The timed-out event was kept and written once Redis came back.
        wait_until(lambda: any(e["data"] == {"hung": 1} for _, e in redis.client().entries()), 10, "kept event")
        eq(sum(1 for _, e in redis.client().entries() if e["data"] == {"hung": 1}), 1, "written exactly once")
        # Answered 503, persisted later: the stream still carries it, with its id.
        stored_id = next(i for i, e in redis.client().entries() if e["data"] == {"hung": 1})
        got = sse.next_event(15)
        eq((got["id"], json.loads(got["data"])["data"]), (stored_id, {"hung": 1}), "on the stream with its id")
        sse.close()
        _, _, text = d.request("GET", "/metrics", raw=True)
        check('event_service_publish_rejected_total{reason="ack_timeout"} 1' in text, "timeout counted")
    finally:
        if redis.proc:
            redis.proc.send_signal(signal.SIGCONT)
        d.close()
        redis.close()


@test
def sigterm_finishes_in_flight_publishes_and_loses_nothing(ctx):
    redis = RedisServer()
    d = Eventd(EVENTD, redis.url)
    acked, failures = [], []
    stop = threading.Event()
    try:
        d.wait_healthy()

        def worker(w):
            n = 0
            try:
                c = d.connection()
                while not stop.is_set():
                    c.request("POST", "/events", body=json.dumps({"event_type": "rl_model_update",
                                                                  "data": {"w": w, "n": n}}),
                              headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    body = r.read()
                    if r.status == 200:
                        acked.append(json.loads(body)["message_id"])
                    else:
                        failures.append(r.status)
                    n += 1
                    if r.getheader("Connection", "").lower() == "close":
                        break
            except (OSError, Exception):  # noqa: BLE001 - the server went away: expected
                pass

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) >= 200, 20, "some publishes")
        rc = d.terminate()
        stop.set()
        for t in threads:
            t.join(10)
        eq(rc, 0, f"exit status; log: {d.output()}")
        stored = [i for i, _ in redis.client().entries()]
        missing = set(acked) - set(stored)
        eq(missing, set(), "every acknowledged event is in the stream")
        eq(len(stored), len(set(stored)), "no duplicates")
        check("flushed" in d.output(), d.output())
    finally:
        stop.set()
        d.close()
        redis.close()


@test
def sigterm_answers_every_pipelined_publish_it_took(ctx):
    # Clients pipeline thousands of POSTs; SIGTERM lands mid-stream, at a
    # few different moments. What eventd took (and so may have written) must
    # be answered: an event in the stream whose client saw no answer is
    # duplicated by its retry.
    redis = RedisServer()
    try:
        for delay in (0.1, 0.2, 0.35, 0.5):
            redis.client().command("DEL", "tradpal_events")
            pipelined_publishes_then_sigterm(redis, delay)
    finally:
        redis.close()


def pipelined_publishes_then_sigterm(redis, delay):
    d = Eventd(EVENTD, redis.url)
    clients, per_client = 6, 3000
    socks, answers = [], [b""] * clients
    try:
        d.wait_healthy()
        socks = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(clients)]

        def send(k):
            req = b"".join(
                b"POST /events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
                for body in (json.dumps({"event_type": "risk_alert", "data": {"c": k, "i": i}}).encode()
                             for i in range(per_client)))
            try:
                socks[k].sendall(req)
            except OSError:
                pass  # eventd stopped reading: expected

        def read(k):
            socks[k].settimeout(20)
            buf = b""
            try:
                while chunk := socks[k].recv(65536):
                    buf += chunk
            except OSError:
                pass
            answers[k] = buf

        threads = [threading.Thread(target=f, args=(k,)) for k in range(clients) for f in (send, read)]
        for t in threads:
            t.start()
        time.sleep(delay)
        eq(d.terminate(30), 0, "exit status")
        for t in threads:
            t.join(30)
        answered = set()
        for buf in answers:
            for part in buf.split(b"HTTP/1.1 ")[1:]:
                check(part.startswith(b"200"), f"every answer is 200 here: {part[:80]!r}")
                answered.add(json.loads(part[part.index(b"\r\n\r\n") + 4:])["message_id"])
        stored = {i for i, _ in redis.client().entries()}
        eq(stored - answered, set(), f"stored but never answered (SIGTERM after {delay}s, {len(stored)} stored)")
        eq(answered - stored, set(), "answered but not stored")
    finally:
        for s in socks:
            s.close()
        d.close()


class Context:
    pass


def main():
    ctx = Context()
    ctx.redis = RedisServer()
    ctx.eventd = Eventd(EVENTD, ctx.redis.url)
    failed, ran = [], 0
    t_start = time.monotonic()
    try:
        ctx.eventd.wait_healthy()
        only = os.environ.get("EVENTD_TEST_ONLY")
        for fn in TESTS:
            if only and only not in fn.__name__:
                continue
            t0 = time.monotonic()
            ran += 1
            try:
                fn(ctx)
                print(f"[ OK ] {fn.__name__} ({time.monotonic() - t0:.2f}s)", flush=True)
            except Exception:  # noqa: BLE001 - every failure is reported, then the next test runs
                failed.append(fn.__name__)
                print(f"[FAIL] {fn.__name__}\n{traceback.format_exc()}", flush=True)
        rc = ctx.eventd.terminate()
        if rc != 0:
            failed.append("shared eventd exit status")
            print(f"[FAIL] shared eventd exited {rc}")
    finally:
        if failed:
            print("shared eventd's log:\n" + ctx.eventd.output())
        ctx.eventd.close()
        ctx.redis.close()
    print(f"{ran - len(failed)} passed, {len(failed)} failed in {time.monotonic() - t_start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
