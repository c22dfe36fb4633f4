#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Sends N requests (default 1000, or $REQUESTS) to web, one after another over one kept-alive connection, and prints
# how many api calls each version answered:
#   1000 requests through web: v1 900 (90.0%), v2 100 (10.0%), failed 0
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=settings.sh
source "$here/settings.sh"
require_tools curl

n="${1:-${REQUESTS:-1000}}"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || fail "the number of requests must be a positive integer, not \"$n\""

# One curl for all requests: it reuses its connection, and reading the URLs from a config on stdin keeps any number
# of them off the command line. -w puts each answer on its own line.
answers="$(for ((i = 0; i < n; i++)); do echo "url = \"http://127.0.0.1:$WEB_PORT/\""; done |
  curl -s --max-time "$((30 + n / 100))" -w '\n' -K - || true)"
awk -v n="$n" '
  /"version":"v1"/ { v1++; next }
  /"version":"v2"/ { v2++; next }
  END {
    failed = n - v1 - v2
    printf "%d requests through web: v1 %d (%.1f%%), v2 %d (%.1f%%), failed %d\n", n, v1, 100 * v1 / n, v2, 100 * v2 / n, failed
  }' <<<"$answers"
