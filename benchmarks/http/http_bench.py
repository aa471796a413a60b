#!/usr/bin/env python3
# benchmarks/http/http_bench.py (installed as build-release/benchmarks/http/http_bench)
#
# eventd under wrk: starts a redis-server and eventd of its own, then runs
# wrk with 2 threads and 32 connections against GET /health (the server's
# own ceiling, the baseline) and POST /events with a TradPal-shaped body,
# each answered only after Redis acknowledged the event. Prints req/s, p50
# and p99 of both, and writes the figures as JSON to
# $TRADPAL_BENCH_DIR/http_bench.json (the shape benchmarks/support/report.h
# writes). Targets: POST >= 0.5x the /health rate, POST p99 <= 2 ms.
# TRADPAL_BENCH_SECONDS sets the length of each run (default 10).
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EVENTD = os.environ.get("EVENTD", os.path.join(HERE, "..", "..", "tools", "eventd"))
LUA = os.path.join(HERE, "post_event.lua")
SECONDS = int(os.environ.get("TRADPAL_BENCH_SECONDS", "10"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    sys.exit(f"http_bench: {what} did not come up")


def answers(port, request, expect):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(request)
            return expect in s.recv(4096)
    except OSError:
        return False


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url, script=None):
    cmd = ["wrk", "-t2", "-c32", f"-d{SECONDS}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rate": rate, "p50": p50, "p99": p99, "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else "", "raw": out}


def main():
    if shutil.which("wrk") is None or shutil.which("redis-server") is None:
        sys.exit("http_bench: needs wrk and redis-server (tools/run installs them)")
    work = tempfile.mkdtemp(prefix="http-bench-")
    redis_port, port = free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", work,
                              "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    eventd = None
    try:
        wait_for("redis-server", lambda: answers(redis_port, b"PING\r\n", b"+PONG"))
        env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{redis_port}", EVENT_SERVICE_PORT=str(port))
        eventd = subprocess.Popen([EVENTD], env=env, stderr=open(os.path.join(work, "eventd.log"), "w"))
        wait_for("eventd", lambda: answers(port, b"GET /health HTTP/1.0\r\n\r\n", b" 200 "))
        base = f"http://127.0.0.1:{port}"
        health = wrk(base + "/health")
        post = wrk(base + "/events", LUA)
        eventd.send_signal(signal.SIGTERM)
        eventd_status = eventd.wait(30)
    finally:
        if eventd and eventd.poll() is None:
            eventd.kill()
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    for name, r in (("GET /health", health), ("POST /events", post)):
        print(f"{name:14} {r['rate']:12.0f} req/s   p50 {r['p50']:8.3f} ms   p99 {r['p99']:8.3f} ms"
              f"   non-2xx {r['non2xx']}  {r['socket_errors']}")
    rate_ratio = post["rate"] / health["rate"] if health["rate"] else 0
    figures = [
        {"name": "http_post_events_rate_2t_32c", "value": post["rate"], "unit": "req/s",
         "baseline": "GET /health, same server, same run", "baseline_value": health["rate"],
         "ratio": rate_ratio, "target": ">= 0.5x"},
        {"name": "http_post_events_p50_2t_32c", "value": post["p50"], "unit": "ms",
         "baseline": "GET /health p50, same run", "baseline_value": health["p50"],
         "ratio": post["p50"] / health["p50"] if health["p50"] else 0, "target": ""},
        {"name": "http_post_events_p99_2t_32c", "value": post["p99"], "unit": "ms",
         "baseline": "GET /health p99, same run", "baseline_value": health["p99"],
         "ratio": post["p99"] / health["p99"] if health["p99"] else 0, "target": "<= 2 ms"},
    ]
    print(f"\nPOST/health rate ratio {rate_ratio:.3f}  (target >= 0.5: {'met' if rate_ratio >= 0.5 else 'MISSED'})")
    print(f"POST p99 {post['p99']:.3f} ms  (target <= 2 ms: {'met' if post['p99'] <= 2 else 'MISSED'})")
    if post["non2xx"]:
        print(f"WARNING: {post['non2xx']} POST answers were not 200")
    out_dir = os.environ.get("TRADPAL_BENCH_DIR", "bench")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "http_bench.json"), "w") as f:
        json.dump(figures, f, indent=1)
        f.write("\n")
    print(f"figures written to {os.path.join(out_dir, 'http_bench.json')}")
    return 0 if eventd_status == 0 and post["non2xx"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
