"""python-consul blocking queries: kv.get(index=..., wait=...) returns on a change, and at the wait otherwise."""

import threading
import time

from _mesh import check, client, eq, index_of, prefix, run, step

# How long a blocking call must stay parked before the writer acts; proves it really blocked (nothing changed yet).
PARKED = 0.5
WAIT = "30s"
WOKEN_WITHIN = 10.0


class Blocked:
    """Runs fn on its own thread with its own client (a requests session is not thread-safe)."""

    def __init__(self, fn):
        self.result = None
        self.error = None
        self.elapsed = None
        self._fn = fn
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        start = time.monotonic()
        try:
            self.result = self._fn(client())
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        self.elapsed = time.monotonic() - start

    def still_blocked_after(self, seconds):
        self._thread.join(seconds)
        return self._thread.is_alive()

    def finish(self, within, what):
        self._thread.join(within)
        check(not self._thread.is_alive(), "%s: blocking query still parked %.0fs after the change" % (what, within))
        if self.error is not None:
            raise self.error
        return self.result


def main():
    c = client()
    p = prefix("blocking")
    key = p + "/watched"

    step("blocking kv.get on an existing key returns when another client writes it")
    eq(c.kv.put(key, "v1"), True, "initial put")
    idx, item = c.kv.get(key)
    start_index = index_of(idx, "kv.get")
    waiter = Blocked(lambda cc: cc.kv.get(key, index=idx, wait=WAIT))
    check(waiter.still_blocked_after(PARKED),
          "kv.get(index=%s, wait=%s) returned before anything changed: %r" % (idx, WAIT, waiter.result))
    eq(c.kv.put(key, "v2"), True, "put that should wake the waiter")
    new_idx, new_item = waiter.finish(WOKEN_WITHIN, "single key")
    check(index_of(new_idx, "woken kv.get") > start_index,
          "woken kv.get index %s is not above the index it waited on (%d)" % (new_idx, start_index))
    check(new_item is not None, "woken kv.get returned no item")
    eq(new_item["Value"], b"v2", "value seen by the woken kv.get")
    check(waiter.elapsed < WOKEN_WITHIN, "woken after %.1fs" % waiter.elapsed)

    step("blocking kv.get on a missing key returns when the key is created")
    absent = p + "/later"
    idx, nothing = c.kv.get(absent)
    eq(nothing, None, "kv.get of a key not yet written")
    waiter = Blocked(lambda cc: cc.kv.get(absent, index=idx, wait=WAIT))
    check(waiter.still_blocked_after(PARKED), "kv.get on a missing key returned before it was created")
    eq(c.kv.put(absent, "born"), True, "create the awaited key")
    new_idx, born = waiter.finish(WOKEN_WITHIN, "missing key")
    check(born is not None and born["Value"] == b"born", "woken kv.get on a created key returned %r" % (born,))
    check(int(new_idx) > int(idx), "index did not grow: %s -> %s" % (idx, new_idx))

    step("blocking recurse on a prefix returns when a key under it is deleted")
    tree = p + "/tree/"
    for name in ("a", "b", "c"):
        c.kv.put(tree + name, name)
    idx, items = c.kv.get(tree, recurse=True)
    eq(len(items), 3, "keys under the prefix")
    waiter = Blocked(lambda cc: cc.kv.get(tree, recurse=True, index=idx, wait=WAIT))
    check(waiter.still_blocked_after(PARKED), "recurse blocking query returned before anything changed")
    eq(c.kv.delete(tree + "b"), True, "delete under the watched prefix")
    new_idx, items = waiter.finish(WOKEN_WITHIN, "recurse")
    eq([i["Key"] for i in items], [tree + "a", tree + "c"], "keys seen by the woken recurse query")
    check(int(new_idx) > int(idx), "recurse index did not grow after a delete: %s -> %s" % (idx, new_idx))

    step("blocking keys listing returns when a key is added under the prefix")
    idx, keys = c.kv.get(tree, keys=True)
    waiter = Blocked(lambda cc: cc.kv.get(tree, keys=True, index=idx, wait=WAIT))
    check(waiter.still_blocked_after(PARKED), "keys blocking query returned before anything changed")
    eq(c.kv.put(tree + "d", "d"), True, "add under the watched prefix")
    new_idx, keys = waiter.finish(WOKEN_WITHIN, "keys")
    eq(keys, [tree + "a", tree + "c", tree + "d"], "keys seen by the woken keys query")

    step("blocking session.list returns when a session is created")
    idx, _ = c.session.list()
    waiter = Blocked(lambda cc: cc.session.list(index=idx, wait=WAIT))
    check(waiter.still_blocked_after(PARKED), "session.list blocking query returned before anything changed")
    sid = c.session.create(name="py-blocking", lock_delay=0)
    new_idx, sessions = waiter.finish(WOKEN_WITHIN, "session.list")
    check(sid in [s["ID"] for s in sessions], "woken session.list lacks the new session")
    check(int(new_idx) > int(idx), "session.list index did not grow: %s -> %s" % (idx, new_idx))
    c.session.destroy(sid)

    step("blocking event.list returns when an event is fired (its index only has to differ)")
    name = p.replace("/", "-") + "-ev"
    c.event.fire(name, body="first")
    idx, events = c.event.list(name=name)
    eq(len(events), 1, "events before the blocking call")
    waiter = Blocked(lambda cc: cc.event.list(name=name, index=idx, wait=WAIT))
    check(waiter.still_blocked_after(PARKED), "event.list blocking query returned before anything changed")
    c.event.fire(name, body="second")
    new_idx, events = waiter.finish(WOKEN_WITHIN, "event.list")
    eq([e["Payload"] for e in events], [b"first", b"second"], "payloads seen by the woken event.list")
    check(new_idx != idx, "event.list index unchanged after a new event: %s" % idx)

    step("blocking kv.get with nothing changing returns at the wait, same index and value")
    idx, item = c.kv.get(key)
    start = time.monotonic()
    same_idx, same_item = c.kv.get(key, index=idx, wait="1s")
    elapsed = time.monotonic() - start
    check(elapsed >= 0.9, "wait=1s returned after %.2fs with nothing changed" % elapsed)
    check(elapsed < 5.0, "wait=1s took %.2fs (max is 1s plus 1/16 jitter)" % elapsed)
    eq(int(same_idx), int(idx), "index after a wait with no change")
    eq(same_item["Value"], item["Value"], "value after a wait with no change")

    step("an index from the future still answers within the wait")
    start = time.monotonic()
    future_idx, future_item = c.kv.get(key, index=int(idx) + 10 ** 6, wait="1s")
    check(time.monotonic() - start < 5.0, "index from the future blocked past its wait")
    eq(future_item["Value"], b"v2", "value read with a future index")
    index_of(future_idx, "future index")

    c.kv.delete(p, recurse=True)


if __name__ == "__main__":
    run(main)
