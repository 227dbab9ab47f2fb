# A stand-in for node:20-bookworm-slim where no registry answers, built by
# scripts/images.ts on the local Debian base. Node's official Linux build and
# npm come from the npm registry as ordinary packages (node-linux-<arch>, npm),
# packed on the host into this build's context as node.tgz and npm.tgz, and
# laid out as the official image lays them out.
ARG BASE_IMAGE=reprod/base:bookworm
FROM ${BASE_IMAGE}

# ca-certificates: Node trusts its own CA list only; pointing it at Debian's
# bundle as well lets npm and fetch work through a TLS proxy the base trusts.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt

COPY node.tgz npm.tgz /tmp/
RUN mkdir /tmp/node /usr/local/lib/node_modules /usr/local/lib/node_modules/npm \
 && tar -xzf /tmp/node.tgz -C /tmp/node --strip-components=1 \
 && install -m 0755 /tmp/node/bin/node /usr/local/bin/node \
 && tar -xzf /tmp/npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && rm -rf /tmp/node /tmp/node.tgz /tmp/npm.tgz \
 && node --version && npm --version

CMD ["node"]
