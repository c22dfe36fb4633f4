#!/usr/bin/env bash
# Config entries over plain curl, as Consul's documentation drives /v1/config: write, read, list, check-and-set,
# a blocking list, the refusals (400 with the reason), and deletes in dependency order.
# MESH_HTTP_ADDR=host:port of a running agent. Prints its steps, then "PASS config_entries.sh", or
# "FAIL config_entries.sh: <reason>" and the last HTTP exchanges on stderr, and exits 1.
set -uo pipefail

# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

step "write service-defaults $WEB (protocol http)"
req PUT /v1/config "{\"Kind\":\"service-defaults\",\"Name\":\"$WEB\",\"Protocol\":\"HTTP\"}"
expect 200 true

step "read it back in Consul's shape"
req GET "/v1/config/service-defaults/$WEB"
expect 200
[[ "$(field .Kind)" == service-defaults && "$(field .Name)" == "$WEB" ]] || fail "wrong kind or name: $BODY"
[[ "$(field .Protocol)" == http ]] || fail "protocol not stored lower-case: $BODY"
CREATE="$(field .CreateIndex)"
MODIFY="$(field .ModifyIndex)"
[[ "$CREATE" == "$MODIFY" && "$INDEX" -ge "$MODIFY" ]] || fail "indexes: create $CREATE modify $MODIFY header $INDEX"

step "a resolver with subsets and a canary splitter"
req PUT /v1/config "{\"Kind\":\"service-resolver\",\"Name\":\"$WEB\",\"DefaultSubset\":\"v1\",\"Subsets\":{\"v1\":{\"Filter\":\"Service.Meta.version == v1\"},\"v2\":{\"Filter\":\"Service.Meta.version == v2\"}},\"ConnectTimeout\":\"15s\"}"
expect 200 true
req PUT /v1/config "{\"kind\":\"service-splitter\",\"name\":\"$WEB\",\"splits\":[{\"weight\":90,\"service_subset\":\"v1\"},{\"weight\":10,\"service_subset\":\"v2\"}]}"
expect 200 true
req GET /v1/config/service-splitter
expect 200
printf '%s' "$BODY" | jq -e --arg n "$WEB" 'any(.[]; .Name == $n and (.Splits | map(.Weight)) == [90, 10])' >/dev/null ||
  fail "splitter $WEB not listed with weights 90/10: $BODY"

step "check-and-set: a stale index is refused, the current one applies"
req PUT "/v1/config?cas=$((MODIFY + 100000))" "{\"Kind\":\"service-defaults\",\"Name\":\"$WEB\",\"Protocol\":\"http2\"}"
expect 200 false
req PUT "/v1/config?cas=0" "{\"Kind\":\"service-defaults\",\"Name\":\"$WEB\",\"Protocol\":\"http2\"}"
expect 200 false
req PUT "/v1/config?cas=$MODIFY" "{\"Kind\":\"service-defaults\",\"Name\":\"$WEB\",\"Protocol\":\"http2\"}"
expect 200 true
req GET "/v1/config/service-defaults/$WEB"
[[ "$(field .Protocol)" == http2 && "$(field .ModifyIndex)" -gt "$MODIFY" ]] || fail "cas write did not land: $BODY"

step "a blocking list of routers answers when a router is written"
req GET /v1/config/service-router
expect 200
LIST_INDEX="$INDEX"
curl -sS -o "$WORK/blocked" -D "$WORK/blocked-headers" "$BASE/v1/config/service-router?index=$LIST_INDEX&wait=30s" &
BLOCKED=$!
req PUT /v1/config "{\"Kind\":\"service-router\",\"Name\":\"$WEB\",\"Routes\":[{\"Match\":{\"HTTP\":{\"PathPrefix\":\"/canary\"}},\"Destination\":{\"ServiceSubset\":\"v2\"}}]}"
expect 200 true
wait "$BLOCKED" || fail "the blocking list failed"
WOKEN_INDEX="$(tr -d '\r' <"$WORK/blocked-headers" | awk -F': ' 'tolower($1) == "x-consul-index" { print $2 }')"
[[ "$WOKEN_INDEX" -gt "$LIST_INDEX" ]] || fail "blocking list answered index $WOKEN_INDEX, not past $LIST_INDEX"
jq -e --arg n "$WEB" 'any(.[]; .Name == $n)' "$WORK/blocked" >/dev/null || fail "router $WEB missing from the woken list: $(cat "$WORK/blocked")"

step "refusals are 400s that say why"
req PUT /v1/config "{\"Kind\":\"service-router\",\"Name\":\"$DB\",\"Routes\":[{\"Match\":{\"HTTP\":{\"PathPrefix\":\"/\"}}}]}"
expect_contains 400 "does not permit advanced routing or splitting behavior"
req PUT /v1/config "{\"Kind\":\"service-defaults\",\"Name\":\"$WEB\",\"Protocol\":\"tcp\"}"
expect_contains 400 "does not permit advanced routing or splitting behavior"
req PUT /v1/config "{\"Kind\":\"service-splitter\",\"Name\":\"$WEB\",\"Splits\":[{\"Weight\":90,\"ServiceSubset\":\"v1\"}]}"
expect 400 "the sum of all split weights must be 100, not 90.000000"
req PUT /v1/config "{\"Kind\":\"service-resolver\",\"Name\":\"$WEB\",\"Redirect\":{\"Service\":\"$WEB\"},\"Failover\":{\"*\":{\"Datacenters\":[\"dc2\"]}}}"
expect 400 "Redirect and Failover cannot both be set"
req PUT /v1/config "{\"Kind\":\"service-intentions\",\"Name\":\"$DB\",\"Sources\":[{\"Name\":\"$WEB\",\"Permissions\":[{\"Action\":\"allow\",\"HTTP\":{\"PathPrefix\":\"/\"}}]}]}"
expect 400 "service \"$DB\" has protocol \"tcp\", which is incompatible with L7 intentions permissions"
req PUT /v1/config '{"Kind":"service-defaults",'
expect_contains 400 "Request decoding failed"
req GET /v1/config/bogus
expect 400 "invalid config entry kind: bogus"
req GET "/v1/config/service-defaults/$DB"
expect 404 "Config entry not found for \"service-defaults\" / \"$DB\""

step "deletes: a protocol still needed is refused; dependents first, then it"
req DELETE "/v1/config/service-defaults/$WEB"
expect_contains 400 "does not permit advanced routing or splitting behavior"
req DELETE "/v1/config/service-router/$WEB"
expect 200 "{}"
req DELETE "/v1/config/service-splitter/$WEB"
expect 200 "{}"
req GET "/v1/config/service-resolver/$WEB"
RESOLVER_INDEX="$(field .ModifyIndex)"
req DELETE "/v1/config/service-resolver/$WEB?cas=$((RESOLVER_INDEX + 100000))"
expect 200 false
req DELETE "/v1/config/service-resolver/$WEB?cas=$RESOLVER_INDEX"
expect 200 true
req DELETE "/v1/config/service-defaults/$WEB"
expect 200 "{}"
req GET "/v1/config/service-defaults/$WEB"
expect 404

printf 'PASS %s\n' "$SCRIPT"
