#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, or says why it cannot.
#
# Contract: idempotent. Installs Debian's engine (docker.io), compose and
# debootstrap when they are missing (root only), starts dockerd in the
# background when no daemon answers, and waits up to DOCKER_ENGINE_TIMEOUT
# seconds (default 60) for `docker info`. Exit 0 means `docker info` works.
# The daemon's log goes to DOCKERD_LOG (default /var/log/dockerd.log).
set -euo pipefail

log() { printf 'docker-engine: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }
have() { command -v "$1" >/dev/null 2>&1; }
have_compose() { have docker-compose || docker compose version >/dev/null 2>&1; }

missing=()
# docker.io brings both the daemon and a client; a client alone (or a remote
# DOCKER_HOST) is enough when the daemon already answers.
if ! have docker || { ! have dockerd && ! engine_up; }; then missing+=(docker.io); fi
have_compose || missing+=(docker-compose)
have debootstrap || missing+=(debootstrap)
# the Docker integration tests build a tiny image from a static busybox
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)

if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; install them as root (apt-get install ${missing[*]}) and run again"
  have apt-get || die "missing ${missing[*]} and no apt-get to install them with"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Other jobs may hold the dpkg lock for a while; wait for it instead of failing.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if engine_up; then
  log "engine reachable"
  exit 0
fi

daemon_pid=
if pgrep -x dockerd >/dev/null 2>&1; then
  log "a dockerd is already starting; waiting for it"
else
  [[ $(id -u) -eq 0 ]] || die "no Docker daemon answers and only root can start dockerd here; start it (e.g. sudo $0) or set DOCKER_HOST"
  logfile=${DOCKERD_LOG:-/var/log/dockerd.log}
  if ! { : >>"$logfile"; } 2>/dev/null; then logfile=$(mktemp -t dockerd.XXXXXX.log); fi
  log "starting dockerd (log: $logfile)"
  # setsid: the daemon must outlive this script and the shell that ran it.
  setsid dockerd >>"$logfile" 2>&1 </dev/null &
  daemon_pid=$!
fi

timeout_s=${DOCKER_ENGINE_TIMEOUT:-60}
for ((waited = 0; waited < timeout_s; waited++)); do
  if engine_up; then
    log "engine reachable after ${waited}s"
    exit 0
  fi
  if [[ -n $daemon_pid ]] && ! kill -0 "$daemon_pid" 2>/dev/null; then
    tail -n 20 "$logfile" >&2 || true
    die "dockerd exited during start-up; see $logfile"
  fi
  sleep 1
done
[[ -n ${logfile:-} ]] && tail -n 20 "$logfile" >&2
die "no answer from 'docker info' after ${timeout_s}s"
