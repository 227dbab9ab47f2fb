# reprod's own image: the CLI and the daemon. It drives stage containers as
# siblings through the host's Docker socket, mounted at /var/run/docker.sock
# (see docker-compose.yml), and runs in the workspace mounted at its host path.
#
# NODE_IMAGE defaults to the registry image; `npm run images` passes
# reprod/node:20 instead, which stands in for it where no registry answers.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# The classic builder leaves this stage behind as an untagged image; the label
# lets `npm run images` remove it, and nothing else, afterwards.
LABEL reprod.build-stage=reprod
WORKDIR /opt/reprod
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script to work here (ssh2's
# optional native crypto falls back to JavaScript), and the build stays offline
# past the registry.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# the build also compiles the JSON Schemas into validators (dist/pipeline/schema-validators.cjs)
COPY schemas ./schemas
COPY scripts/schema-validators.ts ./scripts/
# and bundles the CLI into dist/cli-bundle/reprod.cjs, which bin/reprod.js runs; a first run of it there
# writes the bundle's code cache (scripts/bundle-cli.ts)
COPY scripts/bundle-cli.ts ./scripts/
COPY bin ./bin
# the web view's page, bundled by `npm run build` into dist/web (web/build.ts)
COPY web ./web
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /opt/reprod
ENV NODE_ENV=production
COPY --from=build /opt/reprod/node_modules ./node_modules
COPY --from=build /opt/reprod/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schemas ./schemas
ENTRYPOINT ["node", "/opt/reprod/bin/reprod.js"]
CMD ["--help"]
