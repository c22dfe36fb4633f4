#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The whole canary walk: starts the demo, then for the splits 90/10, 50/50 and 0/100 shifts api's traffic and
# measures it with $REQUESTS requests (default 1000) through web, and stops everything at the end (unless
# KEEP_RUNNING=1).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/start.sh"
if [[ "${KEEP_RUNNING:-0}" != 1 ]]; then
  trap '"$here/stop.sh"' EXIT
fi

for split in "90 10" "50 50" "0 100"; do
  read -r v1 v2 <<<"$split"
  echo
  echo "==> Split v1 $v1 / v2 $v2"
  "$here/shift.sh" "$v1" "$v2"
  "$here/measure.sh" "${REQUESTS:-1000}"
done
echo
