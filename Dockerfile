# cronofy-sync: one image, two roles. `docker run IMAGE api` (receiver + admin API on $PORT),
# `docker run IMAGE worker` (Temporal worker), `docker run IMAGE all` (both, like `npm start`).
#
# Debian (glibc), not Alpine: the Temporal SDK's native core bridge ships glibc builds only.
# The worker bundles the workflow code from dist/workflows/ when it starts (a few seconds).
#
# Dependencies: exactly package-lock.json (`npm ci`).
# Node.js 24 (Active LTS): the same major the tests run on (scripts/with-node.sh, package.json engines).

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# ---- build: all dependencies, TypeScript -> dist/ ----------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/with-node.sh ./scripts/
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and dist/ only, as a non-root user -----------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The `node` user (uid/gid 1000) of the official Node.js images; numeric, so that Kubernetes'
# runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# Exec form: SIGTERM reaches node itself; the API closes first, then the worker drains (src/main.ts).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
