"""python-consul agent services and checks: register a service with an HTTP check against a real local server,
see it passing in /v1/health/service, stop the server, see it critical and filtered out by passing=True; a TTL
check passed by the client; maintenance; deregister."""

import http.server
import threading
import time

import consul

from _mesh import check, client, eq, prefix, run, step


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def wait_until(what, condition, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    check(False, "timed out waiting for: " + what)


def main():
    c = client()
    name = prefix("web").replace("/", "-")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/health" % server.server_address[1]

    step("register a service with an HTTP check against a real local server")
    eq(c.agent.service.register(name, service_id=name + "-1", port=server.server_address[1], tags=["v1"],
                                check=consul.Check.http(url, "1s", timeout="1s")), True, "agent.service.register")
    check(name + "-1" in c.agent.services(), "the service is not in agent.services()")

    step("the check turns passing and the service shows in health.service(passing=True)")
    wait_until("the service passing", lambda: len(c.health.service(name, passing=True)[1]) == 1)

    step("stop the server: the check turns critical and passing=True filters the service out")
    server.shutdown()
    server.server_close()
    wait_until("the service filtered out", lambda: len(c.health.service(name, passing=True)[1]) == 0)
    _, checks = c.health.checks(name)
    eq([ch["Status"] for ch in checks], ["critical"], "check status after the server stopped")

    step("a TTL check the client passes")
    eq(c.agent.check.register("ttl", check=consul.Check.ttl("30s"), check_id=name + "-ttl", service_id=name + "-1"),
       True, "agent.check.register")
    eq(c.agent.check.ttl_pass(name + "-ttl", "fine"), True, "agent.check.ttl_pass")
    eq(c.agent.checks()[name + "-ttl"]["Status"], "passing", "TTL check status")

    step("service maintenance shows as a critical maintenance check")
    eq(c.agent.service.maintenance(name + "-1", "true", "deploy"), True, "agent.service.maintenance")
    eq(c.agent.checks()["_service_maintenance:" + name + "-1"]["Notes"], "deploy", "maintenance notes")
    eq(c.agent.service.maintenance(name + "-1", "false"), True, "maintenance off")

    step("deregister")
    eq(c.agent.service.deregister(name + "-1"), True, "agent.service.deregister")
    check(name + "-1" not in c.agent.services(), "the service is still in agent.services()")
    wait_until("the service gone from the catalog", lambda: len(c.health.service(name)[1]) == 0)


run(main)
