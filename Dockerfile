# cronofy-sync: one image, two roles. `docker run IMAGE api` (receiver + admin API on $PORT),
# `docker run IMAGE worker` (Temporal worker), `docker run IMAGE all` (both, like `npm start`).
#
# Debian (glibc), not Alpine: the Temporal SDK's native core bridge ships glibc builds only.
# Node.js 24 (Active LTS): the major the tests run on (scripts/with-node.sh, package.json engines).
#
# The build stage runs `npm run build`, as outside Docker: TypeScript -> dist/ and the workflow
# bundle dist/workflow-bundle.js, which the worker loads instead of bundling at every start. The
# runtime stage has production dependencies only (`npm ci --omit=dev`: no tsx, no TypeScript) and
# runs the compiled JavaScript. Dependencies are exactly package-lock.json.

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# ---- build: all dependencies, TypeScript -> dist/, the workflow bundle ---------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# The npm scripts run through it (with Node 24 on PATH, as here, it only execs the command).
COPY scripts/with-node.sh ./scripts/
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and dist/ only, as a non-root user -----------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The worker role serves its metrics and /healthz here (the HEALTHCHECK probes it); the api and
# all roles serve them on $PORT instead.
ENV METRICS_PORT=9091
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The `node` user (uid/gid 1000) of the official Node.js images; numeric, so that Kubernetes'
# runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000 9091
# Probes the role PID 1 runs: api/all GET /healthz on $PORT, worker GET /healthz on $METRICS_PORT
# (src/healthcheck.ts). Compose and Kubernetes may set their own probes instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 CMD ["node", "dist/healthcheck.js"]
# Exec form: SIGTERM reaches node itself; the API closes first, then the worker drains (src/main.ts).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
