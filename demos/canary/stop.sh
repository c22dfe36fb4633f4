#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops everything demos/canary/start.sh started: SIGTERM, then SIGKILL for what is still running after
# $STOP_TIMEOUT seconds (default 15). Running it again does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"
stop_all
