#!/usr/bin/env bash
# Builds scripts/deploy-check (the Compose Specification's loader and Prometheus's rule parser,
# test/deploy/compose.test.ts) into the cache outside the clone, like install-servers.sh does for
# FerretDB, and prints the binary's path on stdout (progress on stderr).
#
# The build is keyed by a hash of the tool's source and module files: a changed main.go, go.mod or
# go.sum builds a new binary next to the old one; an unchanged tree costs a hash and a file test.
# Its modules come from the Go module proxy (compose-go, prometheus/prometheus's rulefmt and
# promql/parser): 105 s on 2 cores with empty module and build caches, downloads included.
# promtool itself is not built: its `go install` is refused (replace directives in Prometheus's
# go.mod), and building it inside its module had not finished after 6 minutes of compiling here
# (Kubernetes, cloud SDKs for service discovery) for the same `rulefmt.ParseFile` this tool calls.
#
# Environment: CRONOFY_SYNC_CACHE (cache dir, as install-servers.sh).
set -euo pipefail

CACHE="${CRONOFY_SYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cronofy-sync}"
SRC="$(cd "$(dirname "$0")/deploy-check" && pwd)"

log() { echo "[install-deploy-tools] $*" >&2; }

stamp="$(cat "$SRC/main.go" "$SRC/go.mod" "$SRC/go.sum" | sha256sum | cut -c1-12)"
dir="$CACHE/deploy-check-$stamp"
if [ -f "$dir/.installed" ] && [ -x "$dir/deploy-check" ]; then
  echo "$dir/deploy-check"
  exit 0
fi

mkdir -p "$CACHE"
# Serialise concurrent builds (two test files, or npm test and a direct vitest run).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.deploy-check.lock"
  flock 9
  if [ -f "$dir/.installed" ] && [ -x "$dir/deploy-check" ]; then
    echo "$dir/deploy-check"
    exit 0
  fi
fi
command -v go >/dev/null 2>&1 || { log "ERROR: go not found: needed to build scripts/deploy-check"; exit 1; }
log "building scripts/deploy-check into $dir"
rm -rf "$dir"
mkdir -p "$dir"
(
  cd "$SRC"
  # -mod=readonly: exactly the versions go.sum pins; the clone is never written to.
  GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -o "$dir/deploy-check.tmp" . >&2
)
mv "$dir/deploy-check.tmp" "$dir/deploy-check"
echo "$stamp" >"$dir/.installed"
echo "$dir/deploy-check"
