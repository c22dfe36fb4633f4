#!/usr/bin/env bash
# Installs the real peers the test suite talks to (Consul clients, load and DNS tools) on a fresh Debian machine.
# Idempotent and fast when everything is already there: apt runs only when a package is missing, npm only when
# node_modules is missing or older than the committed lockfile. Safe with CI=true and no stdin.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup: %s\n' "$*"; }

# Debian packages the tests need. python3-consul is Consul's Python client (run with /usr/bin/python3); chromium
# is the browser the demos' Playwright test drives (no `playwright install`: it uses /usr/bin/chromium).
apt_packages=(python3-consul wrk bind9-dnsutils dnsperf curl jq openssl chromium)
# Node.js is part of the machine image; install Debian's only if it is absent.
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

missing=()
for pkg in "${apt_packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
  sudo_cmd=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo_cmd=(sudo -n)
    else
      log "missing Debian packages (${missing[*]}) and not root: install them as root" >&2
      exit 1
    fi
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq </dev/null
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
else
  log "Debian packages present: ${apt_packages[*]}"
fi

# The Debian client must be importable by Debian's interpreter (the python3 on PATH may be another one).
if ! /usr/bin/python3 -c 'import consul' </dev/null; then
  log "/usr/bin/python3 cannot import consul after installing python3-consul" >&2
  exit 1
fi

# npm packages, pinned by each folder's committed package-lock.json: the Node interop scripts (tests/interop/node),
# the grpc-js health server the agent's gRPC check tests probe (tests/interop/grpc-health), grpc-js peers of the
# gRPC layer's tests (tests/interop/grpc-js), and the proxyless xDS client @grpc/grpc-js-xds (tests/interop/xds).
# Mesh.Xds's own build installs @grpc/grpc-js-xds for Envoy's protos (controlplane/Mesh.Xds/Api).
npm_ci() {
  local rel="$1"
  local dir="$repo_root/$rel"
  [[ -f "$dir/package-lock.json" ]] || return 0
  local stamp="$dir/node_modules/.mesh-lock.sha256"
  local want have
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  if [[ ! -d "$dir/node_modules" || "$want" != "$have" ]]; then
    log "npm ci in $rel"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    printf '%s\n' "$want" >"$stamp"
  else
    log "$rel/node_modules is up to date"
  fi
}

npm_ci tests/interop/node
npm_ci tests/interop/grpc-health
npm_ci tests/interop/grpc-js
npm_ci tests/interop/xds

log "done"
