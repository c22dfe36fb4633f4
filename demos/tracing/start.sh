#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts the counting/dashboard demo with tracing on. The services and both sidecars export their spans to a Jaeger
# (or any OTLP collector) on localhost: OTLP/HTTP to http://localhost:4318 by default, or Zipkin v2 JSON to
# http://localhost:9411 with TRACING=zipkin. Any OTEL_* variable already set wins (see docs/tracing.md). The agent
# gets proxy-defaults that make every proxy speak HTTP (demos/tracing/proxy-defaults.json): a sidecar traces HTTP
# requests, not TCP connections. Everything else, ports included, is as in demos/connect/start.sh; the run state is
# in demos/tracing/.run by default.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

case "${TRACING:-otlp}" in
  otlp)
    export OTEL_TRACES_EXPORTER="${OTEL_TRACES_EXPORTER:-otlp}"
    export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4318}"
    ;;
  zipkin)
    export OTEL_TRACES_EXPORTER="${OTEL_TRACES_EXPORTER:-zipkin}"
    export OTEL_EXPORTER_ZIPKIN_ENDPOINT="${OTEL_EXPORTER_ZIPKIN_ENDPOINT:-http://localhost:9411/api/v2/spans}"
    ;;
  *)
    fail "TRACING must be otlp or zipkin, not \"$TRACING\""
    ;;
esac
# Spans reach the collector about a second after the request instead of five.
export OTEL_BSP_SCHEDULE_DELAY="${OTEL_BSP_SCHEDULE_DELAY:-1000}"
export DEMO_STATE_DIR="${DEMO_STATE_DIR:-$here/.run}"
export CONFIG_ENTRIES="$here/proxy-defaults.json ${CONFIG_ENTRIES:-}"
export DEMO_STOP_SCRIPT="$here/stop.sh"

echo "==> Tracing: OTEL_TRACES_EXPORTER=$OTEL_TRACES_EXPORTER" \
  "${OTEL_EXPORTER_OTLP_ENDPOINT:+OTEL_EXPORTER_OTLP_ENDPOINT=$OTEL_EXPORTER_OTLP_ENDPOINT}" \
  "${OTEL_EXPORTER_ZIPKIN_ENDPOINT:+OTEL_EXPORTER_ZIPKIN_ENDPOINT=$OTEL_EXPORTER_ZIPKIN_ENDPOINT}"
"$here/../connect/start.sh"
echo
echo "Traces: every poll of the dashboard is one trace (dashboard, dashboard-sidecar-proxy, counting-sidecar-proxy,"
echo "counting). In Jaeger: http://localhost:16686/search?service=dashboard"
