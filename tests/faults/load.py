# tests/faults/load.py
#
# Continuous publishing through eventd and the reconciliation of every
# answer against the stream: what the fault suite and the soak stand on.
# Standard library only.
import http.client
import json
import threading
import time


class Load:
    """Four publishers, each POSTing events that name it and their number."""

    def __init__(self, eventd_port):
        self.port = eventd_port
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}        # (w, n) -> message id
        self.refused = set()   # 503 detail: unavailable, refusing, ring full
        self.late = set()      # 503 at the acknowledgement deadline
        self.other = []        # anything else: a failure of the suite
        self.unanswered = set()
        self.details = set()
        self.threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(4)]
        for t in self.threads:
            t.start()

    def _run(self, w):
        n = 0
        conn = None
        while not self.stop_flag.is_set():
            key = (w, n)
            n += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/events", body=json.dumps({"event_type": "system_health",
                                                                 "data": {"w": w, "n": key[1]}}),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                body = json.loads(r.read() or b"{}")
                with self.lock:
                    if r.status == 200:
                        self.acked[key] = body["message_id"]
                    elif r.status == 503:
                        detail = str(body.get("detail", ""))
                        self.details.add(detail[:80])
                        (self.late if "did not acknowledge" in detail else self.refused).add(key)
                        time.sleep(0.005)
                    else:
                        self.other.append((key, r.status, body))
            except (OSError, http.client.HTTPException, ValueError):
                with self.lock:
                    self.unanswered.add(key)
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.02)

    def count(self):
        with self.lock:
            return len(self.acked)

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(20)


def reconcile(name, load, redis, extra_checks=()):
    entries = redis.client().entries()
    where = {}
    for entry_id, event in entries:
        d = event.get("data", {})
        where.setdefault((d.get("w"), d.get("n")), []).append(entry_id)
    present = sum(1 for k, i in load.acked.items() if where.get(k) == [i])
    missing = [k for k in load.acked if k not in where]
    duplicated = [k for k, ids in where.items() if len(ids) > 1]
    refused_written = [k for k in load.refused if k in where]
    late_written = sum(1 for k in load.late if k in where)
    unanswered_written = sum(1 for k in load.unanswered if k in where)
    print(f"fault {name}: acknowledged {len(load.acked)}, present {present}, missing {len(missing)}, "
          f"duplicated {len(duplicated)}, refused {len(load.refused)} (written {len(refused_written)}), "
          f"late {len(load.late)} (written {late_written}), unanswered {len(load.unanswered)} "
          f"(written {unanswered_written})", flush=True)
    problems = []
    if load.other:
        problems.append(f"unexpected answers: {load.other[:5]}")
    if present != len(load.acked):
        problems.append(f"{len(load.acked) - present} acknowledged events not in the stream once under their id "
                        f"(missing {missing[:5]})")
    if duplicated:
        problems.append(f"duplicated: {duplicated[:5]}")
    if refused_written:
        problems.append(f"answered 503 (refused) yet written: {refused_written[:5]}")
    for ok, what in extra_checks:
        if not ok:
            problems.append(what)
    if load.count() < 200:
        problems.append(f"only {load.count()} acknowledged: the load did not run")
    return problems
