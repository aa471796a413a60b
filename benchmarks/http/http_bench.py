#!/usr/bin/env python3
# benchmarks/http/http_bench.py (installed as build-release/benchmarks/http/http_bench)
#
# eventd under wrk: starts a redis-server and eventd of its own, then runs
# wrk with 2 threads and 32 connections against GET /health (the server's
# own ceiling, the baseline) and POST /events with a TradPal-shaped body,
# each answered only after Redis acknowledged the event. The two alternate
# in rounds (TRADPAL_BENCH_ROUNDS, default 3: /health, POST, /health, ...);
# each ratio is taken within its round and the figure is the median round,
# with the spread of the rounds. Prints req/s, p50 and p99 of both, and
# writes the figures as JSON to $TRADPAL_BENCH_DIR/http_bench.json (the
# shape benchmarks/support/report.h writes). Targets: POST >= 0.7x the
# /health rate, POST p99 <= 2 ms.
# TRADPAL_BENCH_SECONDS sets the length of each run (default 5).
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
SECONDS = int(os.environ.get("TRADPAL_BENCH_SECONDS", "5"))
ROUNDS = max(1, int(os.environ.get("TRADPAL_BENCH_ROUNDS", "3")))


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
        rounds = []
        for r in range(ROUNDS):
            health = wrk(base + "/health")
            post = wrk(base + "/events", LUA)
            rounds.append((health, post))
            print(f"round {r + 1}: GET /health {health['rate']:.0f} req/s p99 {health['p99']:.3f} ms, "
                  f"POST /events {post['rate']:.0f} req/s p99 {post['p99']:.3f} ms, "
                  f"ratio {post['rate'] / health['rate'] if health['rate'] else 0:.3f}", flush=True)
        eventd.send_signal(signal.SIGTERM)
        eventd_status = eventd.wait(30)
    finally:
        if eventd and eventd.poll() is None:
            eventd.kill()
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    def median(values):
        v = sorted(values)
        n = len(v)
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

    def paired(name, key, unit, baseline, target="", lower_is_better=False):
        ours = [post[key] for _, post in rounds]
        theirs = [health[key] for health, _ in rounds]
        ratios = [o / t if t else 0 for o, t in zip(ours, theirs)]
        return {"name": name, "value": median(ours), "unit": unit, "baseline": baseline,
                "baseline_value": median(theirs), "higher_is_better": not lower_is_better,
                "ratio": median(ratios), "rounds": len(ratios), "ratio_min": min(ratios),
                "ratio_max": max(ratios), "target": target}

    for name, index in (("GET /health", 0), ("POST /events", 1)):
        for r in (pair[index] for pair in rounds):
            print(f"{name:14} {r['rate']:12.0f} req/s   p50 {r['p50']:8.3f} ms   p99 {r['p99']:8.3f} ms"
                  f"   non-2xx {r['non2xx']}  {r['socket_errors']}")
    figures = [
        paired("http_post_events_rate_2t_32c", "rate", "req/s", "GET /health, same server, same round",
               ">= 0.7x"),
        paired("http_post_events_p50_2t_32c", "p50", "ms", "GET /health p50, same round", lower_is_better=True),
        paired("http_post_events_p99_2t_32c", "p99", "ms", "GET /health p99, same round", "<= 2 ms",
               lower_is_better=True),
    ]
    rate, p99 = figures[0], figures[2]
    print(f"\nPOST/health rate ratio {rate['ratio']:.3f} (median of {ROUNDS} rounds, "
          f"spread {rate['ratio_min']:.3f}..{rate['ratio_max']:.3f}; target >= 0.7: "
          f"{'met' if rate['ratio'] >= 0.7 else 'MISSED'})")
    print(f"POST p99 {p99['value']:.3f} ms (median of {ROUNDS} rounds; target <= 2 ms: "
          f"{'met' if p99['value'] <= 2 else 'MISSED'})")
    failed_posts = sum(post["non2xx"] for _, post in rounds)
    if failed_posts:
        print(f"WARNING: {failed_posts} POST answers were not 200")
    out_dir = os.environ.get("TRADPAL_BENCH_DIR", "bench")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "http_bench.json"), "w") as f:
        json.dump(figures, f, indent=1)
        f.write("\n")
    print(f"figures written to {os.path.join(out_dir, 'http_bench.json')}")
    return 0 if eventd_status == 0 and failed_posts == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
