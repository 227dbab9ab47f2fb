#!/usr/bin/env bash
# Sets up reprod on a fresh Debian machine with Node 20, as root: its npm
# dependencies and build, Chromium (for the plots page test), a Docker engine
# (Debian's docker.io, started when none answers) and every image it needs,
# made locally when no registry answers. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian's Chromium: the browser test opens the page `reprod plots show` writes
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

# Debian's OpenSSH server: the ssh:// remote tests start their own sshd on a loopback port (the service is not needed)
if [ ! -x /usr/sbin/sshd ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server
fi

# Debian's lighttpd: the HTTP remote's digest-auth tests start their own on a loopback port (mod_auth; the service is not needed)
if [ ! -x /usr/sbin/lighttpd ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends lighttpd
fi

npm ci --no-audit --no-fund
npm run build
# `reprod` on the PATH: this checkout's CLI
ln -sf "$PWD/bin/reprod.js" /usr/local/bin/reprod
bash scripts/docker-engine.sh
npm run images
