#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops everything demos/tracing/start.sh started. Running it again does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEMO_STATE_DIR="${DEMO_STATE_DIR:-$here/.run}"
exec "$here/../connect/stop.sh"
