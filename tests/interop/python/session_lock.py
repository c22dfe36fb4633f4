"""python-consul sessions as locks: acquire, contention, release, behaviors release/delete, lock-delay."""

import uuid

import consul

from _mesh import check, client, eq, prefix, raises, run, step


def main():
    c = client()
    p = prefix("lock")
    key = p + "/leader"

    step("create two sessions (one with a TTL), lock-delay 0")
    s1 = c.session.create(name="py-lock-1", ttl=30, lock_delay=0)
    s2 = c.session.create(name="py-lock-2", lock_delay=0)
    for sid in (s1, s2):
        check(isinstance(sid, str), "session.create must return the ID string, got %r" % (sid,))
        uuid.UUID(sid)  # raises on a malformed ID
    check(s1 != s2, "two sessions got the same ID")

    step("first session acquires the lock")
    eq(c.kv.put(key, "owner-1", acquire=s1), True, "acquire by s1")
    _, item = c.kv.get(key)
    eq(item["Session"], s1, "Session of a held key")
    eq(item["LockIndex"], 1, "LockIndex after the first acquire")
    eq(item["Value"], b"owner-1", "Value written by the acquire")

    step("second session cannot acquire a held lock")
    eq(c.kv.put(key, "owner-2", acquire=s2), False, "acquire by s2 while s1 holds the lock")
    _, item = c.kv.get(key)
    eq(item["Session"], s1, "Session after a failed acquire")
    eq(item["Value"], b"owner-1", "Value after a failed acquire")

    step("the holder may acquire again (updates the value, same LockIndex)")
    eq(c.kv.put(key, "owner-1b", acquire=s1), True, "re-acquire by the holder")
    _, item = c.kv.get(key)
    eq(item["LockIndex"], 1, "LockIndex after a re-acquire by the holder")
    eq(item["Value"], b"owner-1b", "Value after a re-acquire")

    step("only the holder can release")
    eq(c.kv.put(key, "x", release=s2), False, "release by a session that does not hold the lock")
    eq(c.kv.get(key)[1]["Session"], s1, "Session after a foreign release")
    eq(c.kv.put(key, "released", release=s1), True, "release by the holder")
    _, item = c.kv.get(key)
    check(item.get("Session") in (None, ""), "Session after release: %r" % item.get("Session"))
    eq(item["LockIndex"], 1, "LockIndex after release")
    eq(item["Value"], b"released", "Value after release")

    step("after a release the other session acquires at once (no lock-delay on release)")
    eq(c.kv.put(key, "owner-2", acquire=s2), True, "acquire by s2 after release")
    _, item = c.kv.get(key)
    eq(item["Session"], s2, "Session after s2 acquired")
    eq(item["LockIndex"], 2, "LockIndex after a second holder")

    step("destroying a behavior=release session releases its lock and keeps the key")
    eq(c.session.destroy(s2), True, "session.destroy")
    _, item = c.kv.get(key)
    check(item is not None, "behavior=release: the key was deleted on destroy")
    check(item.get("Session") in (None, ""), "lock still held by a destroyed session: %r" % item.get("Session"))
    eq(c.session.info(s2)[1], None, "session.info of a destroyed session")

    step("a destroyed session cannot acquire")
    try:
        acquired = c.kv.put(key, "ghost", acquire=s2)
    except consul.ConsulException:
        acquired = False  # Consul answers an unknown session with an error
    eq(acquired, False, "acquire with a destroyed session")
    check(c.kv.get(key)[1].get("Session") in (None, ""), "a destroyed session holds the lock")

    step("destroying a behavior=delete session deletes the keys it holds")
    s3 = c.session.create(name="py-ephemeral", behavior="delete", ttl=10, lock_delay=0)
    eq(c.kv.put(p + "/ephemeral", "here", acquire=s3), True, "acquire by the delete-behavior session")
    eq(c.session.destroy(s3), True, "destroy of the delete-behavior session")
    eq(c.kv.get(p + "/ephemeral")[1], None, "key held by a behavior=delete session after destroy")

    step("invalidating a lock holder applies its lock-delay (default 15s) to other sessions")
    s4 = c.session.create(name="py-delayed")  # default lock-delay 15s
    eq(c.kv.put(p + "/delayed", "held", acquire=s4), True, "acquire by the lock-delay session")
    eq(c.session.destroy(s4), True, "destroy of the lock-delay session")
    _, item = c.kv.get(p + "/delayed")
    check(item is not None and item.get("Session") in (None, ""), "lock not released on destroy: %r" % (item,))
    eq(c.kv.put(p + "/delayed", "too-soon", acquire=s1), False,
       "acquire within the previous holder's 15s lock-delay")

    step("session.renew of an unknown session raises NotFound")
    raises(consul.NotFound, lambda: c.session.renew(str(uuid.uuid4())), "renew of an unknown session")

    step("cleanup")
    eq(c.session.destroy(s1), True, "destroy s1")
    eq(c.session.destroy(s1), True, "destroy is idempotent")
    eq(c.kv.delete(p, recurse=True), True, "cleanup keys")


if __name__ == "__main__":
    run(main)
