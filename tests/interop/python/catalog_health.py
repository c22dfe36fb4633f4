"""python-consul catalog and health: register nodes with services and checks, list, filter by tag and passing,
block on a health query until a check changes, deregister."""

import threading

from _mesh import check, client, eq, index_of, prefix, run, step


def main():
    c = client()
    svc = prefix("svc").replace("/", "-")

    step("register two instances of one service on two nodes, one passing and one critical")
    eq(c.catalog.register(svc + "-n1", "10.1.0.1",
                          service={"Service": svc, "ID": svc + "-a", "Port": 8080, "Tags": ["v1", "primary"]},
                          check={"Name": "alive", "CheckID": "alive-a", "ServiceID": svc + "-a", "Status": "passing"}),
       True, "catalog.register n1")
    eq(c.catalog.register(svc + "-n2", "10.1.0.2",
                          service={"Service": svc, "ID": svc + "-b", "Port": 8080, "Tags": ["v2"]},
                          check={"Name": "alive", "CheckID": "alive-b", "ServiceID": svc + "-b", "Status": "critical"}),
       True, "catalog.register n2")

    step("catalog.services lists the service with the union of its tags")
    _, services = c.catalog.services()
    eq(sorted(services.get(svc, [])), ["primary", "v1", "v2"], "tags of " + svc)

    step("catalog.service with a tag filter")
    _, tagged = c.catalog.service(svc, tag="v1")
    eq([(s["Node"], s["ServiceID"], s["ServicePort"]) for s in tagged], [(svc + "-n1", svc + "-a", 8080)], "instances tagged v1")

    step("health.service: all instances, then only passing ones")
    idx, entries = c.health.service(svc)
    eq(sorted(e["Node"]["Node"] for e in entries), [svc + "-n1", svc + "-n2"], "all instances")
    _, healthy = c.health.service(svc, passing=True)
    eq([e["Node"]["Node"] for e in healthy], [svc + "-n1"], "passing instances")

    step("a blocking health.service returns when the critical check turns passing")
    index = index_of(idx, "health.service")
    result = {}

    def watch():
        result["value"] = c.health.service(svc, index=index, wait="30s", passing=True)

    t = threading.Thread(target=watch)
    t.start()
    eq(c.catalog.register(svc + "-n2", "10.1.0.2",
                          service={"Service": svc, "ID": svc + "-b", "Port": 8080, "Tags": ["v2"]},
                          check={"Name": "alive", "CheckID": "alive-b", "ServiceID": svc + "-b", "Status": "passing"}),
       True, "re-register n2 with a passing check")
    t.join(20)
    check(not t.is_alive(), "the blocking health query did not return within 20s of the change")
    new_idx, now_healthy = result["value"]
    check(int(new_idx) > int(index), "index did not move: %r -> %r" % (index, new_idx))
    eq(sorted(e["Node"]["Node"] for e in now_healthy), [svc + "-n1", svc + "-n2"], "passing after the change")

    step("health.state and health.node")
    _, passing = c.health.state("passing")
    check(any(ch["CheckID"] == "alive-b" for ch in passing), "alive-b is not among passing checks")
    _, node_checks = c.health.node(svc + "-n1")
    eq([ch["CheckID"] for ch in node_checks], ["alive-a"], "checks of n1")

    step("catalog.node shows the node's services; deregistering a node removes its instance")
    _, node = c.catalog.node(svc + "-n1")
    eq(node["Node"]["Address"], "10.1.0.1", "node address")
    eq(list(node["Services"].keys()), [svc + "-a"], "services of n1")
    eq(c.catalog.deregister(svc + "-n2"), True, "catalog.deregister n2")
    _, after = c.health.service(svc)
    eq([e["Node"]["Node"] for e in after], [svc + "-n1"], "instances after deregistering n2")
    _, gone = c.catalog.node(svc + "-n2")
    eq(gone, None, "catalog.node of a deregistered node")


run(main)
