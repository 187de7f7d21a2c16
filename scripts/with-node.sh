#!/usr/bin/env bash
# Runs a command with a supported Node.js first on PATH: `bash scripts/with-node.sh vitest run`.
#
# cronofy-sync runs on Node.js 24 (LTS). When the `node` on PATH is older (these machines' system
# Node is 20, end of life), the official Node 24 binary is installed from the npm registry
# (`node-<os>-<arch>`, which ships bin/node) into the cache outside the clone, like the servers
# (scripts/install-servers.sh), and its directory is put first on PATH. Everything the command
# starts then runs on it: `#!/usr/bin/env node` scripts (vitest, tsx), `process.execPath` children,
# and npm/npx themselves. With Node >= 24 already on PATH this only execs the command.
#
# Idempotent and fast when cached: the install counts only once its `.installed` marker exists
# (written last); a lock serialises concurrent first runs.
#
# Environment: CRONOFY_SYNC_CACHE (cache dir), CRONOFY_SYNC_NODE_VERSION (the version installed
# when the system one is too old; default below).
set -euo pipefail

NODE_MAJOR=24
NODE_VERSION="${CRONOFY_SYNC_NODE_VERSION:-24.22.3}"
CACHE="${CRONOFY_SYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cronofy-sync}"

log() { echo "[with-node] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ $# -gt 0 ] || die "usage: with-node.sh COMMAND [ARGS...]"

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(major_of node)" -ge "$NODE_MAJOR" ]; then
  exec "$@"
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "no Node.js $NODE_MAJOR on PATH, and no npm package for $(uname -s): install Node.js $NODE_MAJOR" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Node.js $NODE_MAJOR on PATH, and no npm package for $(uname -m): install Node.js $NODE_MAJOR" ;;
esac
pkg="node-$os-$arch"
dir="$CACHE/node-$NODE_VERSION"
stamp="$pkg@$NODE_VERSION"

installed() { [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ]; }

if ! installed; then
  mkdir -p "$CACHE"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.node.lock"
    flock 9
  fi
  if ! installed; then
    log "installing Node.js $NODE_VERSION ($pkg from the npm registry) into $dir"
    command -v npm >/dev/null 2>&1 || die "npm not found (needed to install $pkg)"
    rm -rf "$dir"
    mkdir -p "$dir"
    # Its own prefix, no lock or scripts: only the package's files land in the cache.
    (cd "$dir" && npm install --prefix "$dir" --no-save --no-package-lock --ignore-scripts \
      --no-audit --no-fund --loglevel=error "$pkg@$NODE_VERSION" >&2) ||
      die "could not install $pkg@$NODE_VERSION: install Node.js $NODE_MAJOR yourself"
    mkdir -p "$dir/bin"
    ln -sf "../node_modules/$pkg/bin/node" "$dir/bin/node"
    [ "$(major_of "$dir/bin/node")" -ge "$NODE_MAJOR" ] || die "$pkg@$NODE_VERSION does not run"
    echo "$stamp" >"$dir/.installed"
  fi
fi

export PATH="$dir/bin:$PATH"
exec "$@"
