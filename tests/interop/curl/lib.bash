#!/usr/bin/env bash
# Shared by the curl interop scripts: run-unique names, the HTTP exchange helper and assertions.
# Sourced first thing: it reads MESH_HTTP_ADDR and sets SCRIPT, BASE, WORK (removed on exit), RUN, WEB and DB.

SCRIPT="$(basename "$0")"
BASE="http://${MESH_HTTP_ADDR:?set MESH_HTTP_ADDR to the host:port of an agent}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Names unique to this run, so the script can share an agent.
RUN="$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
WEB="web-$RUN"
DB="db-$RUN"
EXCHANGES=()

step() { printf '%s: %s\n' "$SCRIPT" "$*"; }

fail() {
  printf 'FAIL %s: %s\n' "$SCRIPT" "$*" >&2
  printf '%s\n' "--- last HTTP exchanges ---" >&2
  printf '%s\n' "${EXCHANGES[@]: -8}" >&2
  exit 1
}

# req METHOD PATH [BODY]: sets STATUS, BODY and INDEX (the X-Consul-Index header, or "").
req() {
  local method="$1" path="$2" body="${3-}"
  local args=(-sS -X "$method" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}')
  if [[ $# -ge 3 ]]; then args+=(--data-binary "$body"); fi
  STATUS="$(curl "${args[@]}" "$BASE$path")" || fail "curl $method $path failed"
  BODY="$(cat "$WORK/body")"
  INDEX="$(tr -d '\r' <"$WORK/headers" | awk -F': ' 'tolower($1) == "x-consul-index" { print $2 }')"
  EXCHANGES+=("$method $path body=${body:0:200} -> $STATUS index=$INDEX body=${BODY:0:300}")
}

expect() { # expect STATUS BODY-TEXT
  [[ "$STATUS" == "$1" ]] || fail "expected status $1, got $STATUS ($BODY)"
  if [[ $# -ge 2 ]]; then
    [[ "$(printf '%s' "$BODY" | tr -d '\n')" == "$2" ]] || fail "expected body $2, got $BODY"
  fi
}

expect_contains() { # expect_contains STATUS TEXT
  [[ "$STATUS" == "$1" ]] || fail "expected status $1, got $STATUS ($BODY)"
  [[ "$BODY" == *"$2"* ]] || fail "expected the body to say '$2', got $BODY"
}

field() { printf '%s' "$BODY" | jq -er "$1" 2>/dev/null || fail "no $1 in $BODY"; }
