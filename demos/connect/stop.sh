#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops everything demos/connect/start.sh started (the sidecars, the services, the agent): SIGTERM, then SIGKILL
# for what is still running after $STOP_TIMEOUT seconds (default 15). Running it again does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

state_init "$here/.run"
stop_all
