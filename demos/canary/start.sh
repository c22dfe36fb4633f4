#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts the canary demo: a dev agent with web (whose sidecar has the upstream api) and two instances of api,
# v1 and v2 (Meta.version), each with its sidecar; writes api's service-defaults (protocol http), its
# service-resolver (subsets v1 and v2) and a service-splitter sending 90% to v1 and 10% to v2; and waits until web
# answers through the mesh. shift.sh changes the split, measure.sh measures it, stop.sh stops everything; run.sh does
# the whole walk. Ports and the run state dir ($DEMO_STATE_DIR, default demos/canary/.run) are in settings.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"

require_tools curl jq setsid
http_port="$(port_of "$MESH_HTTP_ADDR")"
grpc_port="$(port_of "$MESH_GRPC_ADDR")"
timeout="${START_TIMEOUT:-120}"

demo_begin "the canary demo" "$here/stop.sh"

echo "==> Service definitions in $(rel "$STATE/config")"
jq --argjson port "$WEB_PORT" --argjson sidecar "$WEB_SIDECAR_PORT" --argjson upstream "$API_UPSTREAM_PORT" '
    .service.port = $port
  | .service.check.http = "http://127.0.0.1:\($port)/health"
  | .service.connect.sidecar_service.port = $sidecar
  | .service.connect.sidecar_service.proxy.upstreams[0].local_bind_port = $upstream' \
  "$here/services/web.json" >"$STATE/config/web.json"
for version in v1 v2; do
  port_name="API_${version^^}_PORT"
  sidecar_name="API_${version^^}_SIDECAR_PORT"
  jq --argjson port "${!port_name}" --argjson sidecar "${!sidecar_name}" '
      .service.port = $port
    | .service.check.http = "http://127.0.0.1:\($port)/health"
    | .service.connect.sidecar_service.port = $sidecar' \
    "$here/services/api-$version.json" >"$STATE/config/api-$version.json"
done

echo "==> Starting the agent (HTTP $MESH_HTTP_ADDR, gRPC $grpc_port, DNS $DEMO_DNS_PORT)"
without_otel "${MESH_CMD[@]}" agent -dev -config-dir "$STATE/config" \
  -http-port "$http_port" -grpc-port "$grpc_port" -dns-port "$DEMO_DNS_PORT"
start_process agent "${WITHOUT_OTEL[@]}"
wait_until "$timeout" "the agent's HTTP API on $MESH_HTTP_ADDR" agent http_ok "http://$MESH_HTTP_ADDR/v1/agent/service/web-sidecar-proxy"

echo "==> Writing api's config entries: protocol http, subsets v1 and v2, split 90/10"
for entry in api-defaults api-resolver api-splitter; do
  mesh config write "$here/entries/$entry.json"
done

echo "==> Starting web on :$WEB_PORT, api v1 on :$API_V1_PORT, api v2 on :$API_V2_PORT"
start_process web "${MESH_DEMO_CMD[@]}" web -port "$WEB_PORT" -api-url "http://localhost:$API_UPSTREAM_PORT"
start_process api-v1 "${MESH_DEMO_CMD[@]}" api -version v1 -port "$API_V1_PORT"
start_process api-v2 "${MESH_DEMO_CMD[@]}" api -version v2 -port "$API_V2_PORT"
wait_until "$timeout" "web on port $WEB_PORT" web http_ok "http://127.0.0.1:$WEB_PORT/health"
wait_until "$timeout" "api v1 on port $API_V1_PORT" api-v1 http_ok "http://127.0.0.1:$API_V1_PORT/health"
wait_until "$timeout" "api v2 on port $API_V2_PORT" api-v2 http_ok "http://127.0.0.1:$API_V2_PORT/health"

echo "==> Starting the sidecars"
start_process web-sidecar "${MESH_CMD[@]}" connect proxy -sidecar-for web -admin-bind "$SIDECAR_ADMIN_BIND"
start_process api-v1-sidecar "${MESH_CMD[@]}" connect proxy -sidecar-for api-v1 -admin-bind "$SIDECAR_ADMIN_BIND"
start_process api-v2-sidecar "${MESH_CMD[@]}" connect proxy -sidecar-for api-v2 -admin-bind "$SIDECAR_ADMIN_BIND"
for sidecar in web-sidecar api-v1-sidecar api-v2-sidecar; do
  wait_until "$timeout" "$sidecar to be ready" "$sidecar" sidecar_ready "$sidecar"
done

echo "==> Waiting for web to answer through the mesh, from both versions"
# With 90/10, one request in ten goes to v2: twenty requests see both once every endpoint is healthy.
both_versions() {
  local answer seen=""
  for _ in $(seq 20); do
    answer="$(curl -s --max-time 5 "http://127.0.0.1:$WEB_PORT/" || true)"
    [[ "$answer" == *'"version":"v1"'* && "$seen" != *v1* ]] && seen+=" v1"
    [[ "$answer" == *'"version":"v2"'* && "$seen" != *v2* ]] && seen+=" v2"
    [[ "$seen" == *v1* && "$seen" == *v2* ]] && return 0
  done
  return 1
}
wait_until "$timeout" "web to get answers from api v1 and v2" web both_versions

echo
echo "The canary demo is running: web on http://localhost:$WEB_PORT sends 90% of its api calls to v1, 10% to v2."
echo "Measure with $(rel "$here/measure.sh"), shift with $(rel "$here/shift.sh") 50 50, stop with $(rel "$here/stop.sh")."
