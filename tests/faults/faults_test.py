#!/usr/bin/env python3
# tests/faults/faults_test.py
#
# The fault suite: eventd under continuous publishing (four keep-alive
# clients POSTing as fast as they are answered) while Redis or eventd
# itself is hurt, then a reconciliation of every answer against the stream:
#
#   acknowledged  answered 200 with a message id
#   present       of those, in the stream exactly once under that id
#   missing       acknowledged, not in the stream              (must be 0)
#   duplicated    in the stream more than once                 (must be 0)
#   refused       answered 503 because Redis was unavailable or refusing,
#                 or the ring was full: none of these may be written
#   late          answered 503 at the acknowledgement deadline; these may
#                 be written once Redis is back (the answer said "unknown")
#   unanswered    sent, no answer (the connection broke): either way
#
# Run by meson (`meson test --suite faults`):  faults_test.py <eventd>
# Standard library only; real redis-server and eventd processes.
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventd_support import Eventd, RedisServer, wait_until  # noqa: E402
from load import Load, reconcile  # noqa: E402

EVENTD = sys.argv[1]


def with_setup(fn):
    def run():
        redis = RedisServer()
        d = Eventd(EVENTD, redis.url, env={"EVENT_SERVICE_PUBLISH_TIMEOUT_MS": "1500"})
        load = None
        try:
            d.wait_healthy()
            load = Load(d.port)
            wait_until(lambda: load.count() >= 500, 30, "publishing under way")
            d = fn(redis, d, load) or d
            wait_until(lambda: d.request("GET", "/health")[0] == 200, 30, "eventd healthy after the fault")
            before = load.count()
            wait_until(lambda: load.count() >= before + 500, 30, "publishing again after the fault")
            load.stop()
            return reconcile(fn.__name__, load, redis, getattr(fn, "checks", lambda: ())())
        finally:
            if load:
                load.stop()
            if redis.proc:
                redis.proc.send_signal(signal.SIGCONT)
            d.close()
            redis.close()
    run.__name__ = fn.__name__
    return run


@with_setup
def redis_kill9_and_restart_with_aof(redis, d, load):
    redis.proc.kill()
    redis.proc.wait()
    time.sleep(0.5)
    redis.start()


@with_setup
def redis_sigstop_then_sigcont(redis, d, load):
    redis.proc.send_signal(signal.SIGSTOP)
    time.sleep(3)  # past the reply timeout: the connection is dropped
    redis.proc.send_signal(signal.SIGCONT)


def refusal(break_it, fix_it, expect):
    def fault(redis, d, load):
        admin = redis.client()
        break_it(admin)
        wait_until(lambda: expect in (d.request("GET", "/health")[2]["redis"].get("last_error") or ""), 10,
                   f"'{expect}' reported")
        log_lines = d.output().count("\n")
        states = set()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:
            code, _, h = d.request("GET", "/health")
            states.add((code, h["status"]))
            time.sleep(0.05)
        grown = d.output().count("\n") - log_lines
        fix_it(admin)
        checks = [(states == {(503, "unhealthy")}, f"health while refused: {states}"),
                  (grown <= 10, f"{grown} log lines in 3 s while refused"),
                  (any(expect in x for x in load.details), f"no 503 named {expect}: {load.details}")]
        fault.checks = lambda: checks
    return fault


def atomically(c, *commands):
    # One transaction: between two separate commands eventd could XADD to a
    # key the next one then overwrites, and the test would lose events itself.
    c.command("MULTI")
    for cmd in commands:
        c.command(*cmd)
    c.command("EXEC")


def stash_stream(c):
    atomically(c, ("RENAME", "tradpal_events", "tradpal_events_kept"), ("SET", "tradpal_events", "not a stream"))


def restore_stream(c):
    atomically(c, ("DEL", "tradpal_events"), ("RENAME", "tradpal_events_kept", "tradpal_events"))


def named(name, fn):
    fn.__name__ = name
    return fn


redis_wrongtype = with_setup(named("redis_wrongtype_then_fixed", refusal(stash_stream, restore_stream, "WRONGTYPE")))
redis_acl_denial = with_setup(named("redis_acl_denies_xadd_then_grants", refusal(
    lambda c: c.command("ACL", "SETUSER", "default", "-xadd"),
    lambda c: c.command("ACL", "SETUSER", "default", "+xadd"), "NOPERM")))
redis_oom = with_setup(named("redis_out_of_memory_then_raised", refusal(
    lambda c: (c.command("CONFIG", "SET", "maxmemory-policy", "noeviction"), c.command("CONFIG", "SET", "maxmemory", "1")),
    lambda c: c.command("CONFIG", "SET", "maxmemory", "0"), "OOM")))


@with_setup
def eventd_kill9_and_restart(redis, d, load):
    port = d.port
    d.proc.kill()
    d.proc.wait()
    d.close()
    time.sleep(0.3)
    return Eventd(EVENTD, redis.url, env={"EVENT_SERVICE_PUBLISH_TIMEOUT_MS": "1500"}, port=port)


@with_setup
def eventd_sigterm_under_load_and_restart(redis, d, load):
    port = d.port
    rc = d.terminate(30)
    if rc != 0:
        raise AssertionError(f"eventd exited {rc} on SIGTERM: {d.output()[-500:]}")
    d.close()
    return Eventd(EVENTD, redis.url, env={"EVENT_SERVICE_PUBLISH_TIMEOUT_MS": "1500"}, port=port)


FAULTS = [redis_kill9_and_restart_with_aof, redis_sigstop_then_sigcont, redis_wrongtype, redis_acl_denial, redis_oom,
          eventd_kill9_and_restart, eventd_sigterm_under_load_and_restart]


def main():
    only = os.environ.get("FAULTS_ONLY")
    failed = 0
    for fault in FAULTS:
        if only and only not in fault.__name__:
            continue
        t0 = time.monotonic()
        try:
            problems = fault()
        except Exception as e:  # noqa: BLE001 - reported, then the next fault
            problems = [f"{type(e).__name__}: {e}"]
        took = time.monotonic() - t0
        if problems:
            failed += 1
            print(f"[FAIL] {fault.__name__} ({took:.1f}s)")
            for p in problems:
                print(f"    {p}")
        else:
            print(f"[ OK ] {fault.__name__} ({took:.1f}s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
