# tests/tools/eventd_support.py
#
# What the eventd end-to-end tests stand on: a real redis-server in a
# temporary directory on a free port, eventd started as a process, a minimal
# RESP client to look into the stream, an HTTP helper on http.client and a
# Server-Sent Events reader over a raw socket. Python standard library only.
# Every wait polls a condition against a deadline; nothing sleeps blindly.
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """Resident memory of process `pid` in KiB (0 if unknown)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_log(file):
    """All a child process has written to `file` (its stdout and stderr).
    The child writes through a descriptor that shares the file's offset:
    seeking it back to read would make the child's next line overwrite the
    start of its log. pread leaves the offset where the child put it."""
    fd, parts, at = file.fileno(), [], 0
    while chunk := os.pread(fd, 1 << 16, at):
        parts.append(chunk)
        at += len(chunk)
    return b"".join(parts).decode(errors="replace")


def kill_all(children):
    """SIGKILLs every child (an object with a .proc Popen) still running, and reaps it."""
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait()

def wait_until(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class RedisError(RuntimeError):
    """An error reply ("-ERR ...", "-LOADING ...")."""


class Resp:
    """A blocking RESP2 client: enough for XRANGE, XLEN and PING."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def close(self):
        self.sock.close()

    def command(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("redis closed the connection")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError(f"bad RESP line {line!r}")

    def entries(self, stream="tradpal_events"):
        """[(id, event dict)] of the whole stream."""
        out = []
        for entry_id, fields in self.command("XRANGE", stream, "-", "+"):
            f = dict(zip(fields[::2], fields[1::2]))
            out.append((entry_id, json.loads(f["event"])))
        return out


class RedisServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="eventd-test-redis-")
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ping, 10, "redis-server to answer PING")

    def _ping(self):
        """True once Redis answers PONG. Right after a restart it answers
        "-LOADING" while it replays its append-only file: not ready yet."""
        try:
            c = Resp(self.port)
            try:
                return c.command("PING") == "PONG"
            finally:
                c.close()
        except (OSError, ConnectionError):
            return False
        except RedisError as e:
            if str(e).startswith("LOADING"):
                return False
            raise

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def client(self):
        return Resp(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _port_pair_free(port):
    """True when `port` and its cluster bus port (port + 10000) can be bound."""
    for p in (port, port + 10000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


class ClusterNode:
    """One redis-server in cluster mode, in a temporary directory."""

    def __init__(self):
        self.port = next(p for p in (random.randint(20000, 29999) for _ in range(1000)) if _port_pair_free(p))
        self.dir = tempfile.mkdtemp(prefix="eventd-cluster-")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", "1000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.command("PING") == "PONG", 10, "cluster node to answer PING")

    def command(self, *args):
        c = Resp(self.port)
        try:
            return c.command(*args)
        finally:
            c.close()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Cluster:
    """A real Redis Cluster of 3 masters, each with `replicas` replicas."""

    def __init__(self, replicas=1):
        self.replicas = replicas
        self.nodes = [ClusterNode() for _ in range(3 * (1 + replicas))]
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in self.nodes],
                        "--cluster-replicas", str(replicas), "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.healthy, 30, "the cluster to form")

    def live(self):
        return [n for n in self.nodes if n.proc.poll() is None]

    def healthy(self):
        for n in self.live():
            if "cluster_state:ok" not in n.command("CLUSTER", "INFO"):
                return False
        if self.replicas == 0:
            return True
        slot = self.live()[0].command("CLUSTER", "KEYSLOT", "tradpal_events")
        master = self.node(self.master_of(slot))
        return "state=online" in master.command("INFO", "replication")

    def master_of(self, slot):
        for start, end, first, *rest in self.live()[0].command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return first[1]
        raise AssertionError(f"slot {slot} unserved")

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def client(self):
        return ClusterClient(self)

    @property
    def url(self):
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def close(self):
        for n in self.nodes:
            n.close()


class ClusterClient:
    """Resp's command() on a cluster: a command goes to any live node first,
    then to the node a MOVED reply names (one connection kept per node)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.conns = {}

    def command(self, *args):
        port = self.cluster.live()[0].port
        for _ in range(5):
            if port not in self.conns:
                self.conns[port] = Resp(port)
            try:
                return self.conns[port].command(*args)
            except RedisError as e:
                if not str(e).startswith("MOVED "):
                    raise
                port = int(str(e).split()[2].rsplit(":", 1)[1])
        raise RedisError(f"{args[0]}: redirected more than 5 times")

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}


class Eventd:
    def __init__(self, binary, redis_url, env=None, args=(), port=None):
        self.port = port or free_port()
        e = dict(os.environ)
        e.update({"REDIS_URL": redis_url, "EVENT_SERVICE_PORT": str(self.port), "EVENT_SERVICE_HEARTBEAT_MS": "200"})
        e.update(env or {})
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([binary, *args], env=e, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: self._listening(), 10, "eventd to listen")

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"eventd exited with {self.proc.returncode}: {self.output()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def wait_healthy(self, timeout=10):
        wait_until(lambda: self.request("GET", "/health")[0] == 200, timeout, "eventd /health to answer 200")

    def output(self):
        return read_log(self.log)

    def connection(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, raw=False):
        """(status, headers dict lower-cased, parsed JSON or text)."""
        c = self.connection()
        try:
            if body is not None and not isinstance(body, (str, bytes)):
                body = json.dumps(body)
            h = {"Content-Type": "application/json"} if body is not None else {}
            h.update(headers or {})
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if not raw and hdrs.get("content-type", "").startswith("application/json"):
                data = json.loads(data)
            return r.status, hdrs, data
        finally:
            c.close()

    def terminate(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class SseClient:
    """Reads a text/event-stream over HTTP/1.0 (raw bytes, no chunking)."""

    def __init__(self, port, path, headers=None, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        req = f"GET {path} HTTP/1.0\r\nHost: test\r\n"
        for k, v in (headers or {}).items():
            req += f"{k}: {v}\r\n"
        self.sock.sendall((req + "\r\n").encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n", 5)
        self.status = int(head.split(b" ", 2)[1])
        self.head = head.decode()
        if self.status == 200:
            # The stream is live from its ": connected" comment on.
            deadline = time.monotonic() + 5
            while "connected" not in self.next_block(max(0.01, deadline - time.monotonic()))["comments"]:
                pass

    def _until(self, marker, timeout):
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {marker!r} within {timeout}s; have {self.buf[-300:]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError(f"stream closed; have {self.buf[-300:]!r}")
            self.buf += chunk
        part, self.buf = self.buf.split(marker, 1)
        return part

    def next_block(self, timeout=5):
        """The next SSE block as {"id", "event", "data", "comments"}."""
        block = self._until(b"\n\n", timeout).decode()
        out = {"id": None, "event": None, "data": None, "comments": []}
        for line in block.split("\n"):
            if line.startswith(":"):
                out["comments"].append(line[1:].strip())
            elif ":" in line:
                k, v = line.split(":", 1)
                v = v[1:] if v.startswith(" ") else v
                if k == "data":
                    out["data"] = v if out["data"] is None else out["data"] + "\n" + v
                else:
                    out[k] = v
        return out

    def next_event(self, timeout=5, kind=None):
        """The next block that carries data (skipping heartbeats)."""
        deadline = time.monotonic() + timeout
        while True:
            b = self.next_block(max(0.01, deadline - time.monotonic()))
            if b["data"] is not None and (kind is None or b["event"] == kind):
                return b

    def close(self):
        self.sock.close()


def read_answers(sock, count):
    """(status, body) of `count` Content-Length answers read from `sock`."""
    buf, out = b"", []
    while len(out) < count:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1")
            m = re.search(r"(?im)^content-length:\s*(\d+)", head)
            length = int(m.group(1)) if m else 0
            if len(buf) >= end + 4 + length:
                out.append((int(head.split(" ")[1]), buf[end + 4:end + 4 + length]))
                buf = buf[end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {len(out)} of {count} answers")
        buf += chunk
    return out
