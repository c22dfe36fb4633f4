# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# The canary demo's settings, shared by its scripts (sourced). Every value can be set in the environment instead.
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

export MESH_HTTP_ADDR="${MESH_HTTP_ADDR:-127.0.0.1:8500}"
export MESH_GRPC_ADDR="${MESH_GRPC_ADDR:-127.0.0.1:8502}"
port_var DEMO_DNS_PORT 8600
port_var WEB_PORT 9090
port_var API_V1_PORT 9091
port_var API_V2_PORT 9092
port_var API_UPSTREAM_PORT 5001
port_var WEB_SIDECAR_PORT 21010
port_var API_V1_SIDECAR_PORT 21011
port_var API_V2_SIDECAR_PORT 21012
# The sidecars' admin servers take a free port each; the scripts read it from their logs.
SIDECAR_ADMIN_BIND="${SIDECAR_ADMIN_BIND:-127.0.0.1:0}"

demo_commands
state_init "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.run"
