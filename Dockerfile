# syntax=docker/dockerfile:1
# assisted-image-service: build with `make build`, run with `make run` (see README).

FROM docker.io/library/node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM docker.io/library/node:24-bookworm-slim
# Tools the service runs: xorriso rewrites ISOs into minimal templates, squashfs-tools and erofs-utils read the
# rootfs for nmstatectl, cpio is used by diagnostics and tests of the artifacts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends xorriso squashfs-tools erofs-utils cpio ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# OpenShift runs containers with a random UID in group 0: the data and scratch directories are group-writable.
RUN mkdir -p /data /tmp/assisted-image-service \
 && chown -R 1001:0 /data /tmp/assisted-image-service \
 && chmod -R g=u /data /tmp/assisted-image-service
# Semi-spaces of 2 MiB (V8 otherwise sizes them from the heap limit) make V8 collect the socket buffers of the start-up
# ISO download sooner: about 50 MB less peak RSS during the sync, for some 64 KiB Range requests/s (`npm run
# bench:sync`, `npm run bench`; bench/README.md).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    DATA_DIR=/data \
    DATA_TEMP_DIR=/tmp/assisted-image-service \
    LISTEN_PORT=8080
VOLUME ["/data"]
EXPOSE 8080
USER 1001:0
CMD ["node", "dist/main.js"]
