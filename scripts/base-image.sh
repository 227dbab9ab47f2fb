#!/usr/bin/env bash
# Makes the Debian base image that every image of this repository builds on.
#
# Usage: scripts/base-image.sh [NAME]          (default NAME: reprod/base:bookworm)
#        scripts/base-image.sh --print-mirror  (the mirror debootstrap would use)
#
# Contract: idempotent; on exit 0 the image NAME exists. In order:
#   1. NAME already exists: nothing to do.
#   2. a registry answers: pull BASE_SOURCE_IMAGE (default debian:bookworm-slim)
#      and tag it NAME (BASE_NO_PULL=1 skips this).
#   3. otherwise: debootstrap a minbase BASE_SUITE (default bookworm) from the
#      Debian mirror this machine's own apt sources use, and `docker import` it.
# The mirror is read at run time from the apt sources under BASE_APT_ETC
# (default /etc/apt; one-line .list and deb822 .sources files) or taken from
# BASE_MIRROR; no host name lives in this repository.
# The imported image also trusts the CA certificates this machine added locally
# (/usr/local/share/ca-certificates): it stands in for a registry image on this
# machine, so TLS through the machine's proxy must work in it as on the host.
set -euo pipefail

suite=${BASE_SUITE:-bookworm}
apt_etc=${BASE_APT_ETC:-/etc/apt}

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the URI of every enabled `deb` source that serves $suite, in file
# order: sources.list, then *.list, then *.sources. The security and updates
# suites never match, since their names differ from the bare suite.
find_mirrors() {
  local f
  for f in "$apt_etc/sources.list" "$apt_etc"/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    # deb [option=value ...] uri suite component...
    awk -v suite="$suite" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite || $(i + 1) == suite "/") print $i
      }' "$f"
  done
  for f in "$apt_etc"/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822: stanzas separated by blank lines, case-insensitive field names,
    # several space-separated values per field.
    awk -v suite="$suite" '
      function flush() {
        if ((" " types " ") ~ / deb / && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uris != "") {
          split(uris, u, " "); print u[1]
        }
        types = ""; suites = ""; uris = ""; enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1); sub(/:$/, "", key)
        $1 = ""; sub(/^[ \t]+/, "")
        if (key == "types") types = $0
        else if (key == "suites") suites = $0
        else if (key == "uris") uris = $0
        else if (key == "enabled") enabled = tolower($0)
      }
      END { flush() }' "$f"
  done
}

mirror() {
  local m=${BASE_MIRROR:-}
  [[ -n $m ]] || m=$(find_mirrors | head -n 1)
  [[ -n $m ]] || die "no apt source for suite '$suite' under $apt_etc; set BASE_MIRROR to a Debian mirror URI"
  printf '%s\n' "$m"
}

if [[ ${1:-} == --print-mirror ]]; then
  mirror
  exit 0
fi

name=${1:-reprod/base:bookworm}
source_image=${BASE_SOURCE_IMAGE:-debian:${suite}-slim}
pull_timeout=${BASE_PULL_TIMEOUT:-60}

docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/docker-engine.sh first"

if docker image inspect "$name" >/dev/null 2>&1; then
  log "$name exists"
  exit 0
fi

if [[ ${BASE_NO_PULL:-} != 1 ]] && timeout "$pull_timeout" docker pull -q "$source_image" >/dev/null 2>&1; then
  docker tag "$source_image" "$name"
  log "$name tagged from $source_image"
  exit 0
fi
log "no registry gives $source_image; building $name with debootstrap"

mirror=$(mirror)
command -v debootstrap >/dev/null || die "debootstrap is missing; scripts/docker-engine.sh installs it"
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"

rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/reprod-rootfs.XXXXXX")
trap 'rm -rf --one-file-system "$rootfs" "$rootfs.log"' EXIT

start=$SECONDS
if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
  tail -n 30 "$rootfs.log" >&2
  die "debootstrap failed"
fi
log "debootstrap took $((SECONDS - start))s"

# Same hygiene as Debian's slim images: no package lists or downloaded debs.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
shopt -s nullglob
local_cas=(/usr/local/share/ca-certificates/*.crt)
if ((${#local_cas[@]})); then
  mkdir -p "$rootfs/usr/local/share/ca-certificates" "$rootfs/etc/ssl/certs"
  cp "${local_cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
  # Until a build installs ca-certificates (which regenerates the bundle from
  # the folder above), the host's bundle is the one to use.
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  fi
fi

tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  --message "debootstrap --variant=minbase $suite" \
  - "$name" >/dev/null
log "$name imported in $((SECONDS - start))s"
