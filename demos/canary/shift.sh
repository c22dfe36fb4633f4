#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Changes api's split: `shift.sh 50 50` sends half of web's api calls to v1 and half to v2. Writes the
# service-splitter with `mesh config write` and returns once web's answers follow the new weights.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"
require_tools curl jq

usage="usage: $0 V1_WEIGHT V2_WEIGHT (integers from 0 to 100 that add up to 100)"
(($# == 2)) || fail "$usage"
if ! [[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[0-9]+$ ]] || (($1 + $2 != 100)); then fail "$usage"; fi
v1="$1"
v2="$2"

jq -n --argjson v1 "$v1" --argjson v2 "$v2" '{
  Kind: "service-splitter",
  Name: "api",
  Splits: [
    { Weight: $v1, ServiceSubset: "v1" },
    { Weight: $v2, ServiceSubset: "v2" }
  ]
}' >"$STATE/config/api-splitter.json"
mesh config write "$STATE/config/api-splitter.json"

# The agent sends web's sidecar the new routes within moments; the split counts as applied once 20 requests in a
# row come back in the new proportion (the sidecar splits exactly: 90/10 sends 18 of 20 to v1), give or take one.
want=$((20 * v2 / 100))
follows() {
  local answer got=0
  for _ in $(seq 20); do
    answer="$(curl -s --max-time 5 "http://127.0.0.1:$WEB_PORT/" || true)"
    [[ "$answer" == *'"version":"v2"'* ]] && got=$((got + 1))
  done
  ((got >= want - 1 && got <= want + 1))
}
wait_until "${SHIFT_TIMEOUT:-30}" "web's answers to follow the split v1 $v1 / v2 $v2" "" follows
echo "web now sends $v1% of its api calls to v1 and $v2% to v2"
