#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts the counting/dashboard demo: a dev agent that loads both service definitions, the counting and dashboard
# services, and a `mesh connect proxy` sidecar for each; waits until the dashboard gets a count through the mesh and
# prints its URL. demos/connect/stop.sh stops everything again. Every port can be moved with an environment variable
# (see README.md); the run state (pid files, logs, the definitions loaded) is in $DEMO_STATE_DIR, by default
# demos/connect/.run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

require_tools curl jq setsid
demo_commands
state_init "$here/.run"

export MESH_HTTP_ADDR="${MESH_HTTP_ADDR:-127.0.0.1:8500}"
export MESH_GRPC_ADDR="${MESH_GRPC_ADDR:-127.0.0.1:8502}"
http_port="$(port_of "$MESH_HTTP_ADDR")"
grpc_port="$(port_of "$MESH_GRPC_ADDR")"
port_var DEMO_DNS_PORT 8600
port_var COUNTING_PORT 9003
port_var DASHBOARD_PORT 9002
port_var COUNTING_UPSTREAM_PORT 5000
port_var COUNTING_SIDECAR_PORT 21000
port_var DASHBOARD_SIDECAR_PORT 21001
COUNTING_ADMIN_BIND="${COUNTING_ADMIN_BIND:-127.0.0.1:19001}"
DASHBOARD_ADMIN_BIND="${DASHBOARD_ADMIN_BIND:-127.0.0.1:19002}"
timeout="${START_TIMEOUT:-120}"

demo_begin "the demo" "$here/stop.sh"

echo "==> Service definitions in $(rel "$STATE/config")"
# The definitions as written in demos/counting and demos/dashboard, with the ports of this run.
jq --argjson port "$COUNTING_PORT" --argjson sidecar "$COUNTING_SIDECAR_PORT" '
    .service.port = $port
  | .service.check.http = "http://127.0.0.1:\($port)/health"
  | .service.connect.sidecar_service.port = $sidecar' \
  "$here/../counting/counting.json" >"$STATE/config/counting.json"
jq --argjson port "$DASHBOARD_PORT" --argjson sidecar "$DASHBOARD_SIDECAR_PORT" --argjson upstream "$COUNTING_UPSTREAM_PORT" '
    .service.port = $port
  | .service.check.http = "http://127.0.0.1:\($port)/health"
  | .service.connect.sidecar_service.port = $sidecar
  | .service.connect.sidecar_service.proxy.upstreams[0].local_bind_port = $upstream' \
  "$here/../dashboard/dashboard.json" >"$STATE/config/dashboard.json"

echo "==> Starting the agent (HTTP $MESH_HTTP_ADDR, gRPC $grpc_port, DNS $DEMO_DNS_PORT)"
without_otel "${MESH_CMD[@]}" agent -dev -config-dir "$STATE/config" \
  -http-port "$http_port" -grpc-port "$grpc_port" -dns-port "$DEMO_DNS_PORT"
start_process agent "${WITHOUT_OTEL[@]}"
wait_until "$timeout" "the agent's HTTP API on $MESH_HTTP_ADDR" agent http_ok "http://$MESH_HTTP_ADDR/v1/agent/service/counting-1-sidecar-proxy"

# Config entries to write before the services start, e.g. the tracing demo's proxy-defaults.
for entry in ${CONFIG_ENTRIES:-}; do
  mesh config write "$entry"
done

echo "==> Starting counting on :$COUNTING_PORT and dashboard on :$DASHBOARD_PORT"
start_process counting "${MESH_DEMO_CMD[@]}" counting -port "$COUNTING_PORT"
start_process dashboard "${MESH_DEMO_CMD[@]}" dashboard -port "$DASHBOARD_PORT" -counting-url "http://localhost:$COUNTING_UPSTREAM_PORT"
wait_until "$timeout" "counting on port $COUNTING_PORT" counting http_ok "http://127.0.0.1:$COUNTING_PORT/health"
wait_until "$timeout" "dashboard on port $DASHBOARD_PORT" dashboard http_ok "http://127.0.0.1:$DASHBOARD_PORT/health"

echo "==> Starting the sidecars"
start_process counting-sidecar "${MESH_CMD[@]}" connect proxy -sidecar-for counting-1 -admin-bind "$COUNTING_ADMIN_BIND"
start_process dashboard-sidecar "${MESH_CMD[@]}" connect proxy -sidecar-for dashboard -admin-bind "$DASHBOARD_ADMIN_BIND"
wait_until "$timeout" "counting's sidecar to be ready" counting-sidecar sidecar_ready counting-sidecar
wait_until "$timeout" "dashboard's sidecar to be ready" dashboard-sidecar sidecar_ready dashboard-sidecar

echo "==> Waiting for the dashboard to get a count through the mesh"
dashboard_reachable() { curl -sf --max-time 2 "http://127.0.0.1:$DASHBOARD_PORT/api/status" | grep -q '"state":"reachable"'; }
wait_until "$timeout" "the dashboard to reach counting through localhost:$COUNTING_UPSTREAM_PORT" dashboard dashboard_reachable

echo
echo "The demo is running. Open the dashboard:"
echo
echo "    Dashboard: http://localhost:$DASHBOARD_PORT"
echo
echo "Stop it with $(rel "${DEMO_STOP_SCRIPT:-$here/stop.sh}")"
