"""python-consul prepared queries: create (python-consul 0.7.1 always sends a name_prefix_match template), list, get,
execute by name and by name prefix, with limit and near, explain, update, a regexp template, a query bound to a
session that goes with it, delete, and the errors python-consul turns into exceptions."""

import consul

from _mesh import check, client, eq, prefix, raises, run, step


def nodes_of(result):
    return [n["Service"]["ID"] for n in result["Nodes"]]


def main():
    c = client()
    svc = prefix("pq").replace("/", "-")

    step("register three instances: passing (v1), warning (v2) and critical")
    for node, sid, status, tags in ((svc + "-n1", svc + "-a", "passing", ["v1", "primary"]),
                                    (svc + "-n2", svc + "-b", "warning", ["v2"]),
                                    (svc + "-n3", svc + "-c", "critical", ["v1"])):
        eq(c.catalog.register(node, "10.2.0.1", service={"Service": svc, "ID": sid, "Port": 80, "Tags": tags},
                              check={"Name": "alive", "CheckID": "alive-" + sid, "ServiceID": sid, "Status": status}),
           True, "catalog.register " + node)

    step("query.create with a name, tags and a DNS TTL answers the new ID")
    name = svc + "-q"
    created = c.query.create(svc, name=name, tags=["v1"], ttl="10s")
    qid = created["ID"]
    check(len(qid) == 36, "ID is not a UUID: %r" % qid)

    step("query.list and query.get show it in Consul's shape")
    listed = [q for q in c.query.list() if q["ID"] == qid]
    eq(len(listed), 1, "queries listed with the new ID")
    q = listed[0]
    eq((q["Name"], q["Service"]["Service"], q["Service"]["Tags"], q["DNS"]["TTL"], q["Template"]["Type"]),
       (name, svc, ["v1"], "10s", "name_prefix_match"), "the stored query")
    got = c.query.get(qid)
    eq([g["ID"] for g in got], [qid], "query.get")

    step("query.execute by name: critical instances never, tags filter")
    result = c.query.execute(name)
    eq((result["Service"], nodes_of(result), result["DNS"]["TTL"], result["Failovers"]), (svc, [svc + "-a"], "10s", 0),
       "execute " + name)
    step("a longer name matches the template's prefix")
    eq(nodes_of(c.query.execute(name + "-anything")), [svc + "-a"], "execute by prefix")

    step("query.update replaces the definition (no tags: passing and warning instances)")
    eq(c.query.update(qid, svc, name=name), True, "query.update")
    eq(sorted(nodes_of(c.query.execute(name))), [svc + "-a", svc + "-b"], "execute after the update")
    eq(len(nodes_of(c.query.execute(name, limit=1))), 1, "execute with limit=1")
    for _ in range(5):
        eq(nodes_of(c.query.execute(name, near=svc + "-n2"))[0], svc + "-b", "first instance with near=n2")
    eq(c.query.update(qid, svc, name=name, onlypassing=True), True, "query.update with onlypassing")
    eq(nodes_of(c.query.execute(name)), [svc + "-a"], "execute with onlypassing")

    step("query.explain shows the rendered template")
    explained = c.query.explain(name + "-x")
    eq((explained["Query"]["ID"], explained["Query"]["Service"]["Service"]), (qid, svc), "explain")

    step("a template is executed by name only: by ID python-consul raises BadRequest")
    raises(consul.base.BadRequest, lambda: c.query.execute(qid), "execute a template by ID")

    step("a regexp template picks the service out of the name")
    rx = c.query.create("${match(1)}", name=svc + "-rx-", regexp="^" + svc + "-rx-(.+)$")["ID"]
    eq(sorted(nodes_of(c.query.execute(svc + "-rx-" + svc))), [svc + "-a", svc + "-b"], "execute the regexp template")
    eq(c.query.explain(svc + "-rx-" + svc)["Query"]["Service"]["Service"], svc, "explain the regexp template")

    step("a query bound to a session is deleted with the session")
    session = c.session.create()
    bound = c.query.create(svc, name=svc + "-bound", session=session)["ID"]
    eq(c.query.get(bound)[0]["Session"], session, "the bound query's session")
    eq(c.session.destroy(session), True, "session.destroy")
    gone = c.query.get(bound)
    # python-consul answers a 404 with (X-Consul-Index, None).
    check(isinstance(gone, tuple) and gone[1] is None, "query.get after the session ended: %r" % (gone,))

    step("bad definitions raise BadRequest; unknown names come back empty")
    raises(consul.base.BadRequest, lambda: c.query.create("", name=svc + "-bad"), "create without a service")
    raises(consul.base.BadRequest, lambda: c.query.create(svc, name=name), "create with a taken name")
    raises(consul.base.BadRequest, lambda: c.query.create(svc, name=svc + "-ttl", ttl="soon"), "create with a bad TTL")
    missing = c.query.execute("no-such-query-" + svc)
    check(isinstance(missing, tuple) and missing[1] is None, "execute an unknown name: %r" % (missing,))

    step("query.delete removes them")
    eq(c.query.delete(qid), True, "query.delete")
    eq(c.query.delete(rx), True, "query.delete of the regexp template")
    eq([q["ID"] for q in c.query.list() if q["ID"] in (qid, rx, bound)], [], "queries left")
    eq(c.query.delete(qid), False, "query.delete of a query already gone")


run(main)
