#!/usr/bin/env bash
# Sets up reprod on a fresh Debian machine with Node 20, as root: its npm
# dependencies and build, a Docker engine (Debian's docker.io, started when
# none answers) and every image it needs, made locally when no registry
# answers. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

npm ci --no-audit --no-fund
npm run build
bash scripts/docker-engine.sh
npm run images
