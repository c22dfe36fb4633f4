"""python-consul user events: event.fire (with and without payload and filters) and event.list."""

import base64
import uuid

from _mesh import check, client, eq, index_of, run, step


def main():
    c = client()
    name = "py-ev-" + uuid.uuid4().hex[:8]
    other = name + "-other"

    step("event.fire returns the event, payload base64 as Consul sends []byte")
    first = c.event.fire(name, body="payload-1")
    check(isinstance(first, dict), "event.fire must return the event object, got %r" % (first,))
    uuid.UUID(first["ID"])
    eq(first["Name"], name, "Name")
    eq(base64.b64decode(first["Payload"]), b"payload-1", "Payload of the fired event")
    for field in ("NodeFilter", "ServiceFilter", "TagFilter"):
        eq(first.get(field), "", field + " of an unfiltered event")
    check(isinstance(first.get("Version"), int), "Version must be an int, got %r" % first.get("Version"))
    check(isinstance(first.get("LTime"), int), "LTime must be an int, got %r" % first.get("LTime"))

    step("event.fire with a node filter that matches this agent, without payload")
    second = c.event.fire(name, node=".*")
    eq(second["NodeFilter"], ".*", "NodeFilter")
    check(second.get("Payload") in (None, ""), "an event without a body has Payload %r" % second.get("Payload"))
    check(second["ID"] != first["ID"], "two events share an ID")
    third = c.event.fire(other, body=b"\x00\x01binary")

    step("event.fire with filters this agent does not match: accepted, echoed, but not kept by this agent")
    skipped = c.event.fire(name, service="no-such-service-here", tag="v1")
    eq(skipped["ServiceFilter"], "no-such-service-here", "ServiceFilter")
    eq(skipped["TagFilter"], "v1", "TagFilter")
    elsewhere = c.event.fire(name, node="^no-such-node$")
    eq(elsewhere["NodeFilter"], "^no-such-node$", "NodeFilter")

    step("event.list filtered by name returns the events this agent kept, oldest first, payload decoded")
    idx, events = c.event.list(name=name)
    index_of(idx, "event.list")
    eq([e["ID"] for e in events], [first["ID"], second["ID"]], "IDs listed for the name")
    eq(events[0]["Payload"], b"payload-1", "listed Payload (decoded by the client)")
    check(events[1].get("Payload") in (None, b""), "listed Payload of an empty event: %r" % events[1].get("Payload"))

    step("event.list without a name includes every event")
    _, everything = c.event.list()
    ids = [e["ID"] for e in everything]
    for ev in (first, second, third):
        check(ev["ID"] in ids, "event %s missing from the unfiltered list" % ev["ID"])
    by_id = {e["ID"]: e for e in everything}
    eq(by_id[third["ID"]]["Payload"], b"\x00\x01binary", "binary payload")
    check(by_id[first["ID"]]["LTime"] < by_id[third["ID"]]["LTime"], "LTime must grow with each event")

    step("event.list of an unknown name is empty")
    eq(c.event.list(name="no-such-event-" + uuid.uuid4().hex[:6])[1], [], "events for an unknown name")


if __name__ == "__main__":
    run(main)
