"""python-consul session TTLs: unrenewed sessions expire (behavior=delete deletes the key, behavior=release frees the
lock), while a session renewed in time lives on."""

import time

from _mesh import check, client, eq, prefix, run, step

TTL = 10  # the smallest TTL Consul accepts
# Consul invalidates a session between TTL and 2 x TTL after its last renewal; allow slack for a busy machine.
LATEST = 2 * TTL + 8
RENEW_EVERY = 3


def main():
    c = client()
    p = prefix("ttl")
    ephemeral, released, kept = p + "/ephemeral", p + "/released", p + "/kept"

    step("three %ds-TTL sessions each lock a key; only one is renewed" % TTL)
    doomed = c.session.create(name="py-ttl-delete", ttl=TTL, behavior="delete", lock_delay=0)
    releasing = c.session.create(name="py-ttl-release", ttl=TTL, lock_delay=0)
    renewed = c.session.create(name="py-ttl-renewed", ttl=TTL, lock_delay=0)
    started = time.monotonic()
    eq(c.kv.put(ephemeral, "e", acquire=doomed), True, "acquire by the behavior=delete session")
    eq(c.kv.put(released, "r", acquire=releasing), True, "acquire by the behavior=release session")
    eq(c.kv.put(kept, "k", acquire=renewed), True, "acquire by the renewed session")

    step("wait (blocking queries on the prefix, renewing one session) until both unrenewed sessions lapse")
    idx, items = c.kv.get(p + "/", recurse=True)
    renewals, last_renewal = 0, 0.0

    def lapsed(items):
        by_key = {i["Key"]: i for i in items or []}
        return ephemeral not in by_key and released in by_key and by_key[released].get("Session") in (None, "")

    while not lapsed(items):
        now = time.monotonic()
        check(now - started < LATEST, "after %ds the unrenewed sessions' keys are still %r" % (
            LATEST, [(i["Key"], i.get("Session")) for i in items or []]))
        if now - last_renewal >= RENEW_EVERY:
            check(c.session.renew(renewed) is not None, "session.renew of a live session returned nothing")
            renewals, last_renewal = renewals + 1, now
        idx, items = c.kv.get(p + "/", recurse=True, index=idx, wait="%ds" % RENEW_EVERY)
    elapsed = time.monotonic() - started
    check(elapsed >= TTL - 0.5, "sessions expired after %.1fs, before their %ds TTL" % (elapsed, TTL))

    step("expired sessions are gone; the released key stays; the renewed session keeps its lock")
    eq(c.session.info(doomed)[1], None, "session.info of the expired behavior=delete session")
    eq(c.session.info(releasing)[1], None, "session.info of the expired behavior=release session")
    _, rel = c.kv.get(released)
    check(rel is not None and rel["Value"] == b"r", "behavior=release changed or deleted the key: %r" % (rel,))
    check(c.session.info(renewed)[1] is not None, "a session renewed every %ds expired (renewals: %d)"
          % (RENEW_EVERY, renewals))
    eq(c.kv.get(kept)[1]["Session"], renewed, "Session on the renewed session's key")

    c.session.destroy(renewed)
    c.kv.delete(p, recurse=True)


if __name__ == "__main__":
    run(main)
