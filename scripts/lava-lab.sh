#!/bin/bash
# A single-node LAVA lab on this machine, from Debian's own packages, as root,
# with no systemd as PID 1: the daemons are started directly and their pids
# recorded; `down` stops exactly those (their process groups and descendants: a job's lava-run and QEMU).
#
#   scripts/lava-lab.sh up       install (if needed), start, register a qemu device, a user and a token;
#                                start dockerd and build the verdict image (scripts/lava-verdict-image.sh)
#   scripts/lava-lab.sh status   which recorded daemons run; the device's health; the verdict image;
#                                exit 0 only when all run
#   scripts/lava-lab.sh down     stop the recorded daemons (PostgreSQL only if `up` started it)
#
# Settings (environment):
#   VMSPEC_LAB_DIR    state: pids, logs, lavacli config   (default /var/lib/vmspec-lava-lab)
#   VMSPEC_LAB_PORT   gunicorn on 127.0.0.1:PORT          (default 8000)
#   VMSPEC_LAB_USER   lavacli user (superuser) name        (default vmspec)
#   VMSPEC_LAB_IDENTITY lavacli identity name              (default vmspec-lab)
#   VMSPEC_LAB_IMAGE  verdict image tag for LAVA's docker test shell (default vmspec:latest)
#   VMSPEC_LAB_GUESTFS_BACKEND_SETTINGS  libguestfs backend settings for the worker (default force_tcg:
#                     KVM here kills the appliance's QEMU, "failed to set MSR 0x10a"; empty uses KVM)
# docs/scale.md describes every step.
set -euo pipefail

LAB_DIR=${VMSPEC_LAB_DIR:-/var/lib/vmspec-lava-lab}
PORT=${VMSPEC_LAB_PORT:-8000}
LAB_USER=${VMSPEC_LAB_USER:-vmspec}
IDENTITY=${VMSPEC_LAB_IDENTITY:-vmspec-lab}
WORKER=vmspec-lab-worker
DEVICE=qemu-01
URL="http://127.0.0.1:$PORT/"
PY=/usr/bin/python3 # Debian's python: the one LAVA's modules are installed for
PG_VERSION=15
VERDICT_IMAGE=${VMSPEC_LAB_IMAGE:-vmspec:latest}
# dockerd serves the socket the docker client (and so LAVA's docker test shell) uses by default.
DOCKER_SOCKET=/run/docker.sock
GUESTFS_SETTINGS=${VMSPEC_LAB_GUESTFS_BACKEND_SETTINGS-force_tcg}
# LAVA builds the test overlay disk of a shell job with libguestfs, whose supermin appliance
# boots this host's kernel from /boot: a container without one needs Debian's kernel package.
PKGS=(lava-server lava-dispatcher lavacli postgresql docker.io busybox "linux-image-$(dpkg --print-architecture)")
DAEMONS=(dockerd gunicorn scheduler publisher worker) # started in this order, stopped in reverse

log() { printf 'lava-lab: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (LAVA's daemons and its PostgreSQL setup need it)"

pidfile() { echo "$LAB_DIR/pids/$1.pid"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
recorded() { local f; f=$(pidfile "$1"); if [ -s "$f" ]; then cat "$f"; fi; }

install_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (Debian packages)"
  # Others may run apt-get at the same time: wait for the dpkg lock instead of failing.
  # lava-server's postinst cannot reach PostgreSQL without systemd; `up` finishes its job below.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" \
    >"$LAB_DIR/logs/apt-get.log" 2>&1 || {
      # dpkg leaves lava-server half-configured when PostgreSQL is down; that is repaired below.
      dpkg-query -W -f='${Status}' lava-server 2>/dev/null | grep -q 'installed\|half-configured' \
        || die "apt-get install failed: see $LAB_DIR/logs/apt-get.log"
    }
}

start_postgres() {
  if pg_lsclusters -h 2>/dev/null | awk -v v=$PG_VERSION '$1==v && $2=="main" {print $4}' | grep -q online; then
    log "PostgreSQL $PG_VERSION/main already runs (not ours: down leaves it)"
    return 0
  fi
  pg_ctlcluster $PG_VERSION main start
  head -n 1 "/var/lib/postgresql/$PG_VERSION/main/postmaster.pid" >"$(pidfile postgres)"
  log "PostgreSQL $PG_VERSION/main started, pid $(recorded postgres)"
}

setup_database() {
  # postinst.py creates the lavaserver role and database, then migrates: idempotent.
  if [ ! -e "$LAB_DIR/db-ready" ]; then
    log "creating and migrating LAVA's database (lava-server postinst.py)"
    $PY /usr/share/lava-server/postinst.py >"$LAB_DIR/logs/postinst.log" 2>&1 || die "postinst.py failed: see $LAB_DIR/logs/postinst.log"
    # Let dpkg record lava-server as configured now that its postinst can succeed.
    dpkg --configure -a >>"$LAB_DIR/logs/postinst.log" 2>&1 || true
    touch "$LAB_DIR/db-ready"
  fi
  lava-server manage check >"$LAB_DIR/logs/check.log" 2>&1 || die "lava-server manage check: see $LAB_DIR/logs/check.log"
}

# start NAME CMD...: run in its own session (so its children share a process group), record the pid.
start() {
  local name=$1; shift
  if alive "$(recorded "$name")"; then log "$name already runs (pid $(recorded "$name"))"; return 0; fi
  setsid "$@" >>"$LAB_DIR/logs/$name.out" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
  log "$name started, pid $!"
}

# dockerd without systemd: no iptables or bridge (containers of the verdict step use the host's
# network, see the device dictionary), its own data and exec roots, pid file in the lab dir.
start_docker() {
  if ! alive "$(recorded dockerd)" && [ -S "$DOCKER_SOCKET" ] && docker info >/dev/null 2>&1; then
    die "a docker daemon that the lab did not start already serves $DOCKER_SOCKET; stop it or let the lab use it"
  fi
  start dockerd /usr/sbin/dockerd --iptables=false --ip-masq=false --bridge=none \
    --data-root "$LAB_DIR/docker" --exec-root /run/vmspec-lava-lab-docker \
    --pidfile "$LAB_DIR/dockerd.pid" -H "unix://$DOCKER_SOCKET" --log-level warn
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    alive "$(recorded dockerd)" || die "dockerd exited: see $LAB_DIR/logs/dockerd.out"
    sleep 1
  done
  docker info >/dev/null 2>&1 || die "dockerd did not answer on $DOCKER_SOCKET within 60 s: see $LAB_DIR/logs/dockerd.out"
  # Rebuilt every time: docker's layer cache makes an unchanged vmspec a cache hit.
  "$(dirname "$0")/lava-verdict-image.sh" "$VERDICT_IMAGE" 2>>"$LAB_DIR/logs/verdict-image.log" \
    || die "the verdict image did not build: see $LAB_DIR/logs/verdict-image.log"
}

# LAVA's overlay step (lava_dispatcher apply_overlay, prepare_guestfs) as a launch of the appliance:
# make a filesystem on a scratch disk, write a file, read it back. Fails with libguestfs's own words.
check_guestfs() {
  log "checking that libguestfs can build LAVA's overlay disks (appliance boot, ~20 s)"
  LIBGUESTFS_BACKEND_SETTINGS=$GUESTFS_SETTINGS $PY - >"$LAB_DIR/logs/guestfs-check.log" 2>&1 <<'EOF' \
    || die "libguestfs cannot start its appliance, so LAVA cannot build overlays: see $LAB_DIR/logs/guestfs-check.log"
import guestfs
g = guestfs.GuestFS(python_return_dict=True)
g.add_drive_scratch(64 * 1024 * 1024)
g.launch()
g.mkfs("ext4", "/dev/sda")
g.mount("/dev/sda", "/")
g.write("/lava-overlay-check", "ok")
assert g.cat("/lava-overlay-check") == "ok"
g.shutdown()
g.close()
print("libguestfs: appliance up, ext4 written and read back")
EOF
}

wait_http() {
  local i
  for i in $(seq 1 120); do
    curl -fsS -o /dev/null "${URL}api/v0.2/" 2>/dev/null && return 0
    alive "$(recorded gunicorn)" || die "gunicorn exited: see $LAB_DIR/logs/gunicorn.log"
    sleep 1
  done
  die "LAVA's web API did not answer on $URL within 120 s"
}

register() {
  local m="lava-server manage"
  # A superuser for lavacli, and its token (kept in the lab dir, mode 600).
  if ! $m users details "$LAB_USER" >/dev/null 2>&1; then
    $m users add "$LAB_USER" --superuser --staff >/dev/null
  fi
  if [ ! -s "$LAB_DIR/token" ]; then
    (umask 077; $m tokens add --user "$LAB_USER" --description vmspec-lab >"$LAB_DIR/token")
  fi
  lavacli identities add --uri "${URL}RPC2" --username "$LAB_USER" --token "$(cat "$LAB_DIR/token")" "$IDENTITY"

  # The worker, the qemu device type and one device on it (aarch64 TCG: the job's context picks arch, machine, cpu).
  $m workers list 2>/dev/null | grep -qw "$WORKER" || $m workers add "$WORKER" >/dev/null
  # A worker the server already knows must authenticate with its token (auto-registration is for new ones).
  (umask 077; $m workers details "$WORKER" | awk '$1=="token" {print $3}' >"$LAB_DIR/worker-token")
  [ -s "$LAB_DIR/worker-token" ] || die "no token for worker $WORKER"
  $m device-types list 2>/dev/null | grep -qw qemu || $m device-types add qemu >/dev/null
  local dict=/etc/lava-server/dispatcher-config/devices/$DEVICE.jinja2
  cat >"$dict" <<EOF
{% extends 'qemu.jinja2' %}
{# vmspec lab: TCG (no KVM for aarch64 on this host); the job's context sets arch, machine, cpu and memory. #}
{% set no_kvm = True %}
{% set netdevice = 'user' %}
{# The same VM as vmspec boot's (boot/qemu-run.ts): an empty PCIe root port, the hot-plug slot V2-PLAT-HOTPLUG-BUS looks for. #}
{% set extra_options = ['-device pcie-root-port,id=hotplug0,chassis=1,slot=1'] %}
{# The docker test shell (vmspec's verdict step) reaches this server on 127.0.0.1: host network. #}
{% block body %}{{ super() }}
  test:
    methods:
      docker:
        options:
        - --network=host
{% endblock body %}
EOF
  # lava-run's environment is the server's env.yaml for this worker (lava_server/files.py), not the
  # worker's own (lava_dispatcher/worker.py create_environ): Debian's default, plus libguestfs's backend.
  mkdir -p "/etc/lava-server/dispatcher.d/$WORKER"
  cat >"/etc/lava-server/dispatcher.d/$WORKER/env.yaml" <<EOF
purge: true
overrides:
  LC_ALL: C.UTF-8
  LANG: C
  PATH: /usr/local/bin:/usr/local/sbin:/bin:/usr/bin:/usr/sbin:/sbin
  LIBGUESTFS_BACKEND_SETTINGS: '$GUESTFS_SETTINGS'
EOF
  if ! $m devices list 2>/dev/null | grep -qw "$DEVICE"; then
    $m devices add --device-type qemu --worker "$WORKER" "$DEVICE"
  fi
  $m devices update "$DEVICE" --health GOOD >/dev/null
}

up() {
  mkdir -p "$LAB_DIR/pids" "$LAB_DIR/logs" "$LAB_DIR/worker"
  install_packages
  check_guestfs
  start_docker
  start_postgres
  setup_database
  chown -R lavaserver:lavaserver /var/log/lava-server 2>/dev/null || true
  # Gunicorn serves the API and the XML-RPC lavacli uses on 127.0.0.1 only (no apache).
  start gunicorn /usr/bin/gunicorn3 lava_server.wsgi --log-level INFO --log-file /var/log/lava-server/gunicorn.log \
    -u lavaserver -g lavaserver --worker-class sync --workers 2 --timeout 120 --bind "127.0.0.1:$PORT"
  wait_http
  start scheduler lava-server manage lava-scheduler --level INFO --log-file /var/log/lava-server/lava-scheduler.log
  start publisher lava-server manage lava-publisher --level INFO --log-file /var/log/lava-server/lava-publisher.log --host 127.0.0.1 --port $((PORT + 1))
  register
  start worker /usr/bin/lava-worker --level INFO --log-file /var/log/lava-dispatcher/lava-worker.log \
    --name "$WORKER" --url "$URL" --token-file "$LAB_DIR/worker-token" --worker-dir "$LAB_DIR/worker" --http-timeout 600
  local i
  for i in $(seq 1 60); do
    lava-server manage workers list 2>/dev/null | grep -w "$WORKER" | grep -qi online && break
    alive "$(recorded worker)" || die "lava-worker exited: see /var/log/lava-dispatcher/lava-worker.log"
    sleep 1
  done
  log "lab up: $URL, lavacli identity '$IDENTITY', device $DEVICE (qemu) on $WORKER"
  status
}

status() {
  local rc=0 n p
  for n in postgres "${DAEMONS[@]}"; do
    p=$(recorded "$n")
    if alive "$p"; then echo "$n: running (pid $p)"
    elif [ "$n" = postgres ]; then echo "postgres: not started by the lab"
    else echo "$n: not running"; rc=1; fi
  done
  if [ $rc = 0 ]; then
    docker image inspect --format "verdict image: $VERDICT_IMAGE {{.Id}} {{.Size}} bytes" "$VERDICT_IMAGE" || rc=1
    lavacli -i "$IDENTITY" devices show "$DEVICE" 2>/dev/null | grep -E '^(name|health|state|worker)' || rc=1
  fi
  return $rc
}

# descendants PID: every process below PID (children, theirs, ...), from ps's pid/ppid table.
descendants() {
  ps -e -o pid= -o ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      found[root] = 1
      do {
        more = 0
        for (p in parent) if (!(p in found) && (parent[p] in found)) { found[p] = 1; more = 1; print p }
      } while (more)
    }'
}

# stop NAME: TERM the recorded pid's process group and every descendant of it, then KILL whatever
# of them is left. Descendants are found before anything is stopped: lava-worker starts each
# lava-run with os.setpgrp (its own process group) and lava-run starts QEMU in a session of its
# own, so a job still running would outlive the worker's group (and be reparented to init).
stop() {
  local name=$1 p i kids k left
  p=$(recorded "$name")
  if alive "$p"; then
    # (ps and awk of the table itself are gone by the time alive checks them)
    kids=$(for k in $(descendants "$p"); do if alive "$k"; then echo "$k"; fi; done)
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
    for k in $kids; do kill -TERM "$k" 2>/dev/null || true; done
    for i in $(seq 1 30); do
      left=
      kill -0 -- "-$p" 2>/dev/null && left=1
      for k in $kids; do alive "$k" && left=1; done
      [ -n "$left" ] || break
      sleep 1
    done
    kill -KILL -- "-$p" 2>/dev/null || true
    for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
    log "$name stopped (pid $p${kids:+; its descendants: $(tr '\n' ' ' <<<"$kids")})"
  fi
  rm -f "$(pidfile "$name")"
}

down() {
  local i n
  for (( i=${#DAEMONS[@]}-1; i>=0; i-- )); do stop "${DAEMONS[$i]}"; done
  if alive "$(recorded postgres)"; then
    pg_ctlcluster $PG_VERSION main stop -m fast || true
    log "PostgreSQL stopped"
  fi
  rm -f "$(pidfile postgres)"
  return 0
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
