#!/usr/bin/env bash
# Intentions over plain curl, as Consul's documentation drives /v1/connect/intentions: upsert and delete by name
# (exact), the legacy create, read, update and delete by ID, list (blocking, ?filter), match and check, the refusals
# (400 with the reason, 404 for an unknown ID), and /v1/agent/connect/authorize deciding by what was written.
# MESH_HTTP_ADDR=host:port of a running agent. Prints its steps, then "PASS intentions.sh", or
# "FAIL intentions.sh: <reason>" and the last HTTP exchanges on stderr, and exits 1.
set -uo pipefail

# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
API="api-$RUN"

# A boolean as text ("true"/"false"): jq -e treats false as a failure, so field cannot read one.
flag() { printf '%s' "$BODY" | jq -r "$1 | if type == \"boolean\" then tostring else error(\"not a boolean\") end" 2>/dev/null || fail "no boolean $1 in $BODY"; }

exact() { printf '/v1/connect/intentions/exact?source=%s&destination=%s' "$1" "$2"; }

step "upsert $WEB => $DB (allow) by name"
req PUT "$(exact "$WEB" "$DB")" '{"SourceType":"consul","Action":"allow","Description":"web reads db"}'
expect 200 true
req GET "$(exact "$WEB" "$DB")"
expect 200
[[ "$(field .Action)" == allow && "$(field .Precedence)" == 9 && "$(field .SourceType)" == consul ]] || fail "wrong intention: $BODY"
[[ "$(field .Description)" == "web reads db" ]] || fail "description lost: $BODY"
printf '%s' "$BODY" | jq -e 'has("ID") | not' >/dev/null || fail "an intention written by name has no ID: $BODY"

step "the intention lives in $DB's service-intentions entry"
req GET "/v1/config/service-intentions/$DB"
expect 200
printf '%s' "$BODY" | jq -e --arg w "$WEB" '.Sources | length == 1 and .[0].Name == $w and .[0].Precedence == 9' >/dev/null ||
  fail "entry does not hold the source: $BODY"

step "legacy create $API => $DB (deny) with metadata"
req POST /v1/connect/intentions "{\"SourceName\":\"$API\",\"DestinationName\":\"$DB\",\"SourceType\":\"consul\",\"Action\":\"deny\",\"Meta\":{\"owner\":\"dba\"}}"
expect 200
ID="$(field .ID)"
[[ "$ID" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "not a UUID: $ID"
req GET "/v1/connect/intentions/$ID"
expect 200
[[ "$(field .SourceName)" == "$API" && "$(field .Meta.owner)" == dba ]] || fail "wrong intention by ID: $BODY"
CREATED="$(field .CreatedAt)"
req GET "/v1/config/service-intentions/$DB"
printf '%s' "$BODY" | jq -e --arg w "$WEB" --arg a "$API" --arg id "$ID" \
  '[.Sources[].Name] == [$w, $a] and .Sources[1].LegacyID == $id and .Sources[1].LegacyMeta.owner == "dba"' >/dev/null ||
  fail "the legacy source is not kept beside the other: $BODY"

step "a second intention for the same pair is refused"
req POST /v1/connect/intentions "{\"SourceName\":\"$API\",\"DestinationName\":\"$DB\",\"Action\":\"allow\"}"
expect 400 "Sources[2] defines \"$API\" more than once"

step "update by ID keeps the ID and the creation time"
req PUT "/v1/connect/intentions/$ID" "{\"SourceName\":\"$API\",\"DestinationName\":\"$DB\",\"Action\":\"allow\"}"
expect 200
[[ "$(field .ID)" == "$ID" ]] || fail "update answered another ID: $BODY"
req GET "/v1/connect/intentions/$ID"
[[ "$(field .Action)" == allow && "$(field .CreatedAt)" == "$CREATED" ]] || fail "update lost the creation time or the action: $BODY"

step "list (filter), match and check"
req GET "/v1/connect/intentions?filter=$(jq -rn --arg d "$DB" '"DestinationName == \"" + $d + "\"" | @uri')"
expect 200
printf '%s' "$BODY" | jq -e 'length == 2' >/dev/null || fail "filtered list: $BODY"
req GET "/v1/connect/intentions/match?by=destination&name=$DB"
expect 200
printf '%s' "$BODY" | jq -e --arg d "$DB" '.[$d] | length == 2 and all(.[]; .Precedence == 9)' >/dev/null || fail "match: $BODY"
req GET "/v1/connect/intentions/check?source=$WEB&destination=$DB"
expect 200
[[ "$(flag .Allowed)" == true ]] || fail "check: $BODY"

step "a blocking list answers when an intention is written"
req GET /v1/connect/intentions
LIST_INDEX="$INDEX"
curl -sS -o "$WORK/blocked" -D "$WORK/blocked-headers" "$BASE/v1/connect/intentions?index=$LIST_INDEX&wait=30s" &
BLOCKED=$!
req PUT "$(exact "$WEB" "$DB")" '{"Action":"deny"}'
expect 200 true
wait "$BLOCKED" || fail "the blocking list failed"
WOKEN_INDEX="$(tr -d '\r' <"$WORK/blocked-headers" | awk -F': ' 'tolower($1) == "x-consul-index" { print $2 }')"
[[ "$WOKEN_INDEX" -gt "$LIST_INDEX" ]] || fail "blocking list answered index $WOKEN_INDEX, not past $LIST_INDEX"
jq -e --arg w "$WEB" 'any(.[]; .SourceName == $w and .Action == "deny")' "$WORK/blocked" >/dev/null || fail "the woken list misses the change: $(cat "$WORK/blocked")"

step "authorize decides by the intentions"
req GET /v1/connect/ca/roots
TD="$(field .TrustDomain)"
req POST /v1/agent/connect/authorize "{\"Target\":\"$DB\",\"ClientCertURI\":\"spiffe://$TD/ns/default/dc/dc1/svc/$WEB\",\"ClientCertSerial\":\"01\"}"
expect 200
[[ "$(flag .Authorized)" == false && "$(field .Reason)" == *"default/$WEB => default/$DB (Precedence: 9, Action: DENY)"* ]] || fail "authorize: $BODY"
req POST /v1/agent/connect/authorize "{\"Target\":\"$DB\",\"ClientCertURI\":\"spiffe://$TD/ns/default/dc/dc1/svc/$API\",\"ClientCertSerial\":\"01\"}"
[[ "$(flag .Authorized)" == true ]] || fail "authorize: $BODY"

step "refusals are 400s that say why; unknown IDs 404"
req PUT "$(exact "$WEB" "$DB")" '{"Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}'
expect 400 "service \"$DB\" has protocol \"tcp\", which is incompatible with L7 intentions permissions"
req PUT "$(exact "$WEB" "$DB")" '{"Action":"sometimes"}'
expect_contains 400 "Action must be set to 'allow' or 'deny'"
req PUT "/v1/connect/intentions/exact?destination=$DB" '{"Action":"allow"}'
expect 400 "required query parameter 'source' not set"
req GET /v1/connect/intentions/not-a-uuid
expect 400 "UUID must be 36 characters"
req DELETE "/v1/connect/intentions/00000000-0000-4000-8000-000000000000"
expect 404 "Cannot delete non-existent intention: '00000000-0000-4000-8000-000000000000'"

step "deletes: by name, then by ID; the last one removes the entry"
req DELETE "$(exact "$WEB" "$DB")"
expect 200 true
req GET "$(exact "$WEB" "$DB")"
expect 404 "Intention not found"
req DELETE "/v1/connect/intentions/$ID"
expect 200 true
req GET "/v1/config/service-intentions/$DB"
expect 404

printf 'PASS %s\n' "$SCRIPT"
