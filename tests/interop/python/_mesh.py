"""Helpers shared by the python3-consul interop scripts.

Run the scripts with Debian's /usr/bin/python3 (the interpreter that sees python3-consul 0.7.1) and
MESH_HTTP_ADDR=host:port of a running Mesh agent. Each script prints its steps, then "PASS <script>",
or "FAIL <script>: <reason>" plus the last HTTP exchanges on stderr and exits 1.
"""

import base64
import collections
import json
import os
import sys
import threading
import traceback
import uuid

try:
    import consul
    import requests
except ImportError as exc:  # the harness checks this too; keep the message actionable when run by hand
    print("FAIL: cannot import python3-consul (%s); run tests/setup.sh and use /usr/bin/python3" % exc,
          file=sys.stderr)
    sys.exit(2)

SCRIPT = os.path.basename(sys.argv[0])


class Failure(Exception):
    """An expectation about the agent's behaviour did not hold."""


class _Recorder:
    """Keeps the last HTTP exchanges of every client, so a failure shows the exact request and response."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = collections.deque(maxlen=10)

    def hook(self, response, *args, **kwargs):
        request = response.request
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() in ("content-type", "x-consul-index", "x-consul-knownleader")}
        text = response.content.decode("utf-8", "replace")
        line = "%s %s body=%s -> %d %s body=%s" % (
            request.method, request.url, _short(body), response.status_code, headers, _short(text))
        with self._lock:
            self._items.append(line)
        return response

    def dump(self):
        with self._lock:
            return list(self._items)


RECORDER = _Recorder()


def _short(value, limit=400):
    if value is None:
        return "None"
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text))


def addr():
    """(host, port) from MESH_HTTP_ADDR."""
    value = os.environ.get("MESH_HTTP_ADDR", "")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise Failure("MESH_HTTP_ADDR must be host:port of a Mesh agent, got %r" % value)
    return host.strip("[]"), int(port)


def base_url():
    host, port = addr()
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%d" % (host, port)


def client(**kwargs):
    """A python-consul client for the agent, with its HTTP exchanges recorded."""
    # python-consul reads CONSUL_HTTP_ADDR itself and would silently talk to another agent.
    os.environ.pop("CONSUL_HTTP_ADDR", None)
    host, port = addr()
    c = consul.Consul(host=host, port=port, **kwargs)
    c.http.session.hooks["response"].append(RECORDER.hook)
    return c


def http():
    """A plain requests session (for endpoints python-consul 0.7.1 lacks), recorded like the client."""
    s = requests.Session()
    s.hooks["response"].append(RECORDER.hook)
    return s


def prefix(area):
    """A key prefix unique to this run, so scripts may share an agent."""
    return "interop-py/%s/%s" % (area, uuid.uuid4().hex[:10])


def b64(text):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def step(message):
    print("- " + message, flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


def eq(actual, expected, what):
    if actual != expected:
        raise Failure("%s: expected %r, got %r" % (what, expected, actual))


def index_of(value, what):
    """X-Consul-Index as an int; it must be a positive integer (Consul never returns 0)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Failure("%s: X-Consul-Index %r is not an integer" % (what, value))
    check(number > 0, "%s: X-Consul-Index must be > 0, got %d" % (what, number))
    return number


def raises(exc_types, fn, what):
    """Calls fn and returns the exception, failing if none of exc_types was raised."""
    try:
        result = fn()
    except exc_types as exc:
        return exc
    raise Failure("%s: expected %s, but the call returned %r" % (
        what, " or ".join(t.__name__ for t in _tuple(exc_types)), result))


def _tuple(value):
    return value if isinstance(value, tuple) else (value,)


def loads(response, what):
    try:
        return json.loads(response.text)
    except ValueError:
        raise Failure("%s: body is not JSON: %r" % (what, response.text[:300]))


def run(main):
    """Runs main(); exit 0 on success, 1 with a clear message on any failure."""
    try:
        main()
    except Failure as exc:
        _fail(str(exc))
    except consul.ConsulException as exc:
        _fail("python-consul raised %s: %s" % (type(exc).__name__, exc), with_trace=True)
    except Exception as exc:  # noqa: BLE001 - any crash is a failed interop check
        _fail("unexpected %s: %s" % (type(exc).__name__, exc), with_trace=True)
    print("PASS " + SCRIPT, flush=True)
    sys.exit(0)


def _fail(reason, with_trace=False):
    sys.stdout.flush()
    out = sys.stderr
    print("FAIL %s: %s" % (SCRIPT, reason), file=out)
    if with_trace:
        traceback.print_exc(file=out)
    exchanges = RECORDER.dump()
    if exchanges:
        print("last HTTP exchanges (oldest first):", file=out)
        for line in exchanges:
            print("  " + line, file=out)
    out.flush()
    sys.exit(1)
