# shellcheck shell=bash
# Shared by the demo scripts (sourced, not run): how to run mesh and mesh-demo, where the run state lives, starting
# processes in the background with pid files, waiting for them, and stopping them again.
#
# Run state: $DEMO_STATE_DIR (each script picks its own default) holds
#   pids/NN-name.pid   "<pid> <start time>" of each process started, NN giving the start order
#   logs/name.log      its standard output and error
#   config/            the service definitions the agent loads (-config-dir), with the ports chosen
# The start time (field 22 of /proc/<pid>/stat) makes sure a stop never signals an unrelated process that happens to
# have been given a recorded pid later.

demo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The commands that run mesh and mesh-demo, as arrays. MESH_BIN and MESH_DEMO_BIN name an already built mesh.dll /
# mesh-demo.dll (run with dotnet) or an executable; otherwise the repository's launchers build what is stale first.
demo_commands() {
  if [[ -n "${MESH_BIN:-}" ]]; then
    if [[ "$MESH_BIN" == *.dll ]]; then MESH_CMD=(dotnet "$MESH_BIN"); else MESH_CMD=("$MESH_BIN"); fi
  else
    MESH_CMD=("$demo_root/mesh")
  fi
  if [[ -n "${MESH_DEMO_BIN:-}" ]]; then
    if [[ "$MESH_DEMO_BIN" == *.dll ]]; then MESH_DEMO_CMD=(dotnet "$MESH_DEMO_BIN"); else MESH_DEMO_CMD=("$MESH_DEMO_BIN"); fi
  else
    MESH_DEMO_CMD=("$demo_root/demos/mesh-demo")
  fi
}

# Runs the mesh CLI.
mesh() { "${MESH_CMD[@]}" "$@"; }

# Builds both programs now if they are stale, so that no start-up timeout below includes a build.
demo_build() {
  mesh version >/dev/null || fail "mesh does not run (${MESH_CMD[*]})"
  "${MESH_DEMO_CMD[@]}" -h >/dev/null || fail "mesh-demo does not run (${MESH_DEMO_CMD[*]})"
}

# rel PATH: PATH relative to the current directory when it is below it (shorter messages), else PATH.
rel() {
  if [[ "$1" == "$PWD"/* ]]; then echo "${1#"$PWD"/}"; else echo "$1"; fi
}

fail() {
  echo "error: $*" >&2
  exit 1
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (on Debian: apt-get install $tool)"
  done
}

# port_var NAME DEFAULT: sets NAME to its value from the environment, or DEFAULT; fails unless it is a port.
port_var() {
  local name="$1" default="$2" value
  value="${!name:-$default}"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value > 65535)); then fail "$name: \"$value\" is not a port number"; fi
  printf -v "$name" '%s' "$value"
}

# port_of HOST:PORT (an optional http:// or https:// is dropped): prints PORT.
port_of() {
  local address="${1#*://}"
  address="${address%/}"
  [[ "$address" =~ :([0-9]+)$ ]] || fail "\"$1\" has no port"
  echo "${BASH_REMATCH[1]}"
}

# state_init DEFAULT_DIR: sets STATE to $DEMO_STATE_DIR or DEFAULT_DIR and creates its folders.
state_init() {
  STATE="${DEMO_STATE_DIR:-$1}"
  mkdir -p "$STATE/pids" "$STATE/logs" "$STATE/config"
  STATE="$(cd "$STATE" && pwd)"
}

# proc_start_time PID: the process's start time; fails when it does not exist or has exited (a zombie whose parent
# has not reaped it yet counts as exited).
proc_start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Fields after the command name (which may hold spaces) start after the last ')': the state, then field 4 on; the
  # start time is field 22.
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]] || return 1
  awk '{ print $20 }' <<<"$stat"
}

# pid_alive FILE: whether the process recorded in FILE is still the one that was started.
pid_alive() {
  local pid start now
  read -r pid start <"$1" 2>/dev/null || return 1
  now="$(proc_start_time "$pid")" || return 1
  [[ "$now" == "$start" ]]
}

# Whether any process recorded in the state dir is still running.
state_running() {
  local file
  for file in "$STATE"/pids/*.pid; do
    [[ -e "$file" ]] && pid_alive "$file" && return 0
  done
  return 1
}

# start_process NAME COMMAND...: runs COMMAND in the background in its own session (a terminal's Ctrl-C or hang-up
# does not reach it), output to logs/NAME.log, and records its pid.
start_process() {
  local name="$1"
  shift
  local seq
  seq="$(printf '%02d' "$(($(find "$STATE/pids" -name '*.pid' | wc -l) + 1))")"
  setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  local start
  start="$(proc_start_time "$pid")" || start=""
  echo "$pid $start" >"$STATE/pids/$seq-$name.pid"
  echo "    started $name (pid $pid), log $(rel "$STATE/logs/$name.log")"
}

# The pid file of NAME.
pid_file() {
  local file
  for file in "$STATE"/pids/*-"$1".pid; do
    [[ -e "$file" ]] && { echo "$file"; return 0; }
  done
  return 1
}

# Shows the end of every log, for a failure.
show_logs() {
  local log
  for log in "$STATE"/logs/*.log; do
    [[ -e "$log" ]] || continue
    echo "---- $(basename "$log") (last 20 lines) ----" >&2
    tail -n 20 "$log" >&2
  done
}

# wait_until SECONDS WHAT NAME COMMAND...: runs COMMAND until it succeeds, failing after SECONDS or as soon as the
# process NAME (when not empty) has exited.
wait_until() {
  local seconds="$1" what="$2" name="$3"
  shift 3
  local deadline=$((SECONDS + seconds)) file=""
  [[ -n "$name" ]] && file="$(pid_file "$name")"
  until "$@"; do
    if [[ -n "$file" ]] && ! pid_alive "$file"; then
      show_logs
      fail "$name exited while waiting for $what (its log: $(rel "$STATE/logs/$name.log"))"
    fi
    if ((SECONDS >= deadline)); then
      show_logs
      fail "timed out after ${seconds}s waiting for $what"
    fi
    sleep 0.2
  done
}

# http_ok URL: whether URL answers 2xx within two seconds.
http_ok() { curl -sf -o /dev/null --max-time 2 "$1"; }

# sidecar_admin NAME: the admin URL that `mesh connect proxy` logged (it may have been given port 0).
sidecar_admin() {
  grep -o 'admin on http://[^ ,]*' "$STATE/logs/$1.log" 2>/dev/null | head -n 1 | sed -e 's/^admin on //' -e 's/[.,\/]*$//'
}

sidecar_ready() {
  local admin
  admin="$(sidecar_admin "$1")"
  [[ -n "$admin" ]] && http_ok "$admin/ready"
}

# without_otel COMMAND...: prints nothing; sets WITHOUT_OTEL to an `env` command line that runs COMMAND without the
# OTEL_* variables, for the agent: only the services and their sidecars are traced.
without_otel() {
  local name
  WITHOUT_OTEL=(env)
  while IFS= read -r name; do WITHOUT_OTEL+=(-u "$name"); done < <(compgen -e | grep '^OTEL_' || true)
  WITHOUT_OTEL+=("$@")
}

# Stops what was started when a start script fails half-way (install with: trap stop_on_failure EXIT).
stop_on_failure() {
  local rc=$?
  if ((rc != 0)); then
    echo "==> Start failed; stopping what was started" >&2
    stop_all 5 >&2
  fi
}

# stop_all [TIMEOUT]: SIGTERM to every recorded process (latest first), SIGKILL to those still running after TIMEOUT
# seconds (default $STOP_TIMEOUT or 15); removes the pid files. Safe to run again: nothing recorded, nothing done.
# demo_begin NAME STOP_SCRIPT: the start of every start.sh. Refuses to run a demo twice, clears what a run that died
# without its stop script left behind, arranges for a failed start to stop what it started, and builds the binaries.
demo_begin() {
  if state_running; then
    fail "$1 is already running (state in $(rel "$STATE")); stop it first with $(rel "$2")"
  fi
  rm -f "$STATE"/pids/*.pid "$STATE"/config/*.json
  trap stop_on_failure EXIT

  echo "==> Building mesh and mesh-demo if needed"
  demo_build
}

stop_all() {
  local timeout="${1:-${STOP_TIMEOUT:-15}}"
  local files=() file pid start name
  while IFS= read -r file; do files+=("$file"); done < <(find "$STATE/pids" -name '*.pid' 2>/dev/null | sort -r)
  if ((${#files[@]} == 0)); then
    echo "Nothing to stop: no demo processes are recorded in $(rel "$STATE")."
    return 0
  fi

  local running=()
  for file in "${files[@]}"; do
    name="$(basename "$file" .pid)"
    name="${name#*-}"
    if pid_alive "$file"; then
      read -r pid start <"$file"
      kill -TERM "$pid" 2>/dev/null && running+=("$file")
      echo "Stopping $name (pid $pid)"
    else
      rm -f "$file"
      echo "$name had already exited"
    fi
  done

  local deadline=$((SECONDS + timeout)) left
  while true; do
    left=()
    for file in "${running[@]}"; do
      pid_alive "$file" && left+=("$file")
    done
    ((${#left[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      for file in "${left[@]}"; do
        read -r pid start <"$file"
        name="$(basename "$file" .pid)"
        echo "${name#*-} (pid $pid) did not stop within ${timeout}s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
      done
      # SIGKILL is not refused; wait the moment it takes for the ports to be free for a new start.
      deadline=$((SECONDS + 5))
      for file in "${left[@]}"; do
        while pid_alive "$file" && ((SECONDS < deadline)); do sleep 0.1; done
      done
      break
    fi
    sleep 0.2
  done
  rm -f "${files[@]}"
  echo "Stopped. Logs are kept in $(rel "$STATE/logs")."
}
