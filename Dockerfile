# cronofy-sync: one image, two roles. `docker run IMAGE api` (receiver + admin API on $PORT),
# `docker run IMAGE worker` (Temporal worker), `docker run IMAGE all` (both, like `npm start`).
#
# Debian (glibc), not Alpine: the Temporal SDK's native core bridge ships glibc builds only.
# The worker bundles the workflow code from dist/workflows/ when it starts (a few seconds).
#
# Dependencies come from package-lock.json. `npm install --no-save` rather than `npm ci`: the lock
# lacks the optional per-platform packages of @biomejs/biome and @swc/core for other platforms
# (our package mirror does not serve them), which `npm ci` rejects as "not in sync"; `install`
# keeps every locked version and fetches only what this platform needs. Back to `npm ci` once the
# lock is complete.

ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# ---- build: all dependencies, TypeScript -> dist/ ----------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and dist/ only, as a non-root user -----------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-save --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The `node` user (uid/gid 1000) of the official Node.js images; numeric, so that Kubernetes'
# runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# Exec form: SIGTERM reaches node itself; the API closes first, then the worker drains (src/main.ts).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
