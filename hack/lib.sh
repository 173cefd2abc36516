# Shared helpers of hack/demo.sh, hack/test.sh and hack/bench.sh (source it).
# shellcheck shell=bash

# ---- long-running steps that an interrupt must stop -----------------------------------
# run_child CMD...: runs CMD in its own process group (setsid) and waits for it. A bash
# script waiting in `wait` runs its INT/TERM trap at once (a foreground command would
# delay the trap until it ended), and stop_child then ends CMD with everything it spawned
# (cargo and rustc, test binaries and the emulators/controllers they run).
CHILD=""
run_child() {
  # setsid execs CMD directly here (a background job is not a group leader), so $! is
  # CMD's pid and its process group id.
  setsid "$@" &
  CHILD=$!
  local status=0
  wait "${CHILD}" || status=$?
  CHILD=""
  return "${status}"
}

stop_child() {
  local pid="${CHILD}"
  [[ -n "${pid}" ]] || return 0
  CHILD=""
  kill -TERM -- "-${pid}" 2>/dev/null || return 0
  # up to 30 s: a child may be running its own cleanup (hack/demo.sh stopping its servers)
  for _ in $(seq 300); do
    kill -0 -- "-${pid}" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-${pid}" 2>/dev/null || true
}

# ---- ports ----------------------------------------------------------------------------
# listeners PORT: the pids listening on TCP port PORT (any address), one a line, "?" for
# a socket whose process this user cannot see; exit status 1 when nobody listens.
listeners() {
  python3 - "$1" <<'EOF'
import os, sys
port = int(sys.argv[1])
inodes = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        f = row.split()
        if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
            inodes.add(f[9])
if not inodes:
    sys.exit(1)
found = set()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:[") and link[8:-1] in inodes:
                found.add(pid)
    except OSError:
        pass
print("\n".join(sorted(found)) if found else "?")
EOF
}

# free_ports N: N distinct TCP ports free on 127.0.0.1 right now, space-separated.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# describe_listeners PORT PREFIX: who listens on PORT, for an error message.
describe_listeners() {
  local port="$1" prefix="$2" pids pid
  pids="$(listeners "${port}")" || return 0
  if command -v ss >/dev/null; then
    ss -Hltnp "sport = :${port}" 2>/dev/null | sed "s/^/${prefix}  /" >&2 || true
  fi
  for pid in ${pids}; do
    if [[ "${pid}" == "?" ]]; then
      echo "${prefix}  a process this user cannot see (sudo ss -ltnp 'sport = :${port}')" >&2
    else
      echo "${prefix}  pid ${pid}: $(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null || echo '?')" >&2
    fi
  done
}
