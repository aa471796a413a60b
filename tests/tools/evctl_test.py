#!/usr/bin/env python3
# tests/tools/evctl_test.py
#
# evctl against a real eventd and redis-server: publish, list, stats,
# health, types, and tail of the live stream.
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Eventd, RedisServer  # noqa: E402

EVENTD, EVCTL = sys.argv[1], sys.argv[2]


def run(env, *args, timeout=10):
    return subprocess.run([EVCTL, *args], capture_output=True, text=True, timeout=timeout, env=env)


def main():
    redis = RedisServer()
    d = Eventd(EVENTD, redis.url)
    try:
        d.wait_healthy()
        env = dict(os.environ, EVENT_SERVICE_URL=f"http://127.0.0.1:{d.port}")
        tail = subprocess.Popen([EVCTL, "tail", "--type", "risk_alert"], env=env, stdout=subprocess.PIPE, text=True)
        assert tail.stdout.readline().startswith("retry:"), "tail starts"
        r = run(env, "publish", "risk_alert", '{"level": "high"}', "--source", "cli")
        assert r.returncode == 0, r
        published = json.loads(r.stdout)
        assert published["status"] == "published", r.stdout
        lines = []
        while not any(l.startswith("id: " + published["message_id"]) for l in lines):
            lines.append(tail.stdout.readline())
        tail.terminate()
        tail.wait(5)
        r = run(env, "list", "--type", "risk_alert", "--limit", "5")
        assert r.returncode == 0 and json.loads(r.stdout)["events"][-1]["data"] == {"level": "high"}, r
        for cmd in ("stats", "health", "types"):
            r = run(env, cmd)
            assert r.returncode == 0, (cmd, r)
            json.loads(r.stdout)
        r = run(env, "metrics")
        assert r.returncode == 0 and "event_service_stream_length" in r.stdout, r
        r = run(env, "publish", "bogus")
        assert r.returncode == 1 and "Invalid event type" in r.stdout, r
        r = run(env, "frobnicate")
        assert r.returncode == 2, r
        assert d.terminate() == 0
        print("evctl: all checks passed")
        return 0
    finally:
        d.close()
        redis.close()


if __name__ == "__main__":
    sys.exit(main())
