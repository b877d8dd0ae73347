#!/usr/bin/env bash
# A local Citus cluster for the distributed tier (issue 18): one coordinator and two workers, each a
# PostgreSQL 15 instance on this machine, so that `make test-citus` and the scale bench run against
# the engine the schema is designed for. Citus is not in Debian's archive: it is built from the
# sources vendored in ../shared/vendor (README there) when `citus.so` is missing.
#
#   scripts/citus.sh build   build and install Citus if PostgreSQL does not have it yet
#   scripts/citus.sh up      build if needed, then start the cluster (idempotent)
#   scripts/citus.sh down    stop it (the data folder stays; `rm -rf var/citus` forgets it)
#   scripts/citus.sh status  which nodes answer
#
# Settings (environment): CITUS_DIR (data folder, default var/citus), CITUS_PORT (the coordinator's
# port, default 9700; the workers take the next two), CITUS_VENDOR (the sources' folder),
# CITUS_BUILD (where to build, default /tmp/citus-build: outside the repository).
# The cluster listens on 127.0.0.1 only, user postgres, trust authentication: a test rig, not a
# deployment. The URL to use: postgresql://postgres@127.0.0.1:9700/postgres
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=13.2.2
PG_MAJOR=15
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
# ../shared/vendor from the main checkout; ../../shared/vendor from a worktree under wt/.
VENDOR=${CITUS_VENDOR:-}
if [ -z "$VENDOR" ]; then
    for candidate in ../shared/vendor ../../shared/vendor; do
        if [ -f "$candidate/citus-$VERSION.tar.gz" ]; then VENDOR=$(cd "$candidate" && pwd); break; fi
    done
fi
BUILD=${CITUS_BUILD:-/tmp/citus-build}
DIR=${CITUS_DIR:-var/citus}
PORT=${CITUS_PORT:-9700}
PORTS=("$PORT" "$((PORT + 1))" "$((PORT + 2))")
NAMES=(coordinator worker1 worker2)
DEBS=(postgresql-server-dev-$PG_MAJOR liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev
    libxslt1-dev libpam0g-dev libreadline-dev libcurl4-openssl-dev)

log() { echo "citus: $*" >&2; }

installed() { [ -f "$("$PGBIN/pg_config" --pkglibdir)/citus.so" ]; }

# PostgreSQL refuses to run as root: as root, the servers run as the `postgres` account.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

build() {
    if installed; then log "already installed ($("$PGBIN/pg_config" --pkglibdir)/citus.so)"; return; fi
    local missing=()
    for p in "${DEBS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing build packages: ${missing[*]}"
        if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
        "${SUDO[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    [ -n "$VENDOR" ] || { log "citus-$VERSION.tar.gz not found in ../shared/vendor (set CITUS_VENDOR)"; exit 1; }
    local tree="$BUILD/citus-$VERSION"
    if [ ! -f "$tree/.patched" ]; then
        rm -rf "$tree" && mkdir -p "$tree"
        echo "dd2453caec20a830e5e63f1def5c5a98cb6f57ae510407cdcd800916fcdab430  $VENDOR/citus-$VERSION.tar.gz" | sha256sum -c --quiet
        tar -xzf "$VENDOR/citus-$VERSION.tar.gz" -C "$tree" --strip-components=1 2>/dev/null \
            || tar -xzf "$VENDOR/citus-$VERSION.tar.gz" -C "$tree"
        [ -f "$tree/configure" ] || { log "unexpected archive layout in $tree"; exit 1; }
        (cd "$tree" && patch -p1 --forward < "$VENDOR/citus-$VERSION-pg15.20.patch")
        touch "$tree/.patched"
    fi
    # with_llvm=no: no LLVM bitcode for the JIT to inline (it doubles the build; the JIT still runs).
    log "building in $tree (nice, make -j2: a few minutes on two cores)"
    (cd "$tree" && { [ -f Makefile.global ] || PG_CONFIG="$PGBIN/pg_config" ./configure --quiet; } \
        && nice -n 10 make -s -j2 with_llvm=no && make -s with_llvm=no install)
    installed || { log "build finished but citus.so is not installed"; exit 1; }
    log "installed"
}

answers() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$1" 2>/dev/null; }

sql() {  # sql PORT SQL — as postgres on the node's postgres database, stopping on error
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -tA -c "$2"
}

up() {
    build
    mkdir -p "$DIR"
    local abs
    abs=$(cd "$DIR" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$abs"
    for i in 0 1 2; do
        local node="$abs/${NAMES[$i]}" port=${PORTS[$i]}
        if [ ! -f "$node/PG_VERSION" ]; then
            as_pg "$PGBIN/initdb" -D "$node" -U postgres --auth=trust --no-sync -E UTF8 \
                --locale=C.UTF-8 >/dev/null
            cat >> "$node/postgresql.conf" <<EOF
# scripts/citus.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
shared_preload_libraries = 'citus'
max_connections = 200
shared_buffers = 128MB
fsync = on
citus.max_client_connections = 150
EOF
        fi
        if answers "$port"; then
            log "${NAMES[$i]} already up on $port"
        else
            as_pg "$PGBIN/pg_ctl" -D "$node" -l "$node/server.log" -w -t 60 start >/dev/null
            log "${NAMES[$i]} up on $port"
        fi
        sql "$port" "CREATE EXTENSION IF NOT EXISTS citus"
    done
    sql "${PORTS[0]}" "SELECT citus_set_coordinator_host('127.0.0.1', ${PORTS[0]})" >/dev/null
    for i in 1 2; do
        sql "${PORTS[0]}" "SELECT citus_add_node('127.0.0.1', ${PORTS[$i]})
            WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodeport = ${PORTS[$i]})" >/dev/null
    done
    log "cluster ready: postgresql://postgres@127.0.0.1:${PORTS[0]}/postgres"
    sql "${PORTS[0]}" "SELECT nodename || ':' || nodeport || ' ' || noderole FROM pg_dist_node ORDER BY nodeport" >&2
}

down() {
    for i in 2 1 0; do
        local node="$DIR/${NAMES[$i]}"
        if [ -f "$node/postmaster.pid" ]; then
            as_pg "$PGBIN/pg_ctl" -D "$(cd "$node" && pwd)" -m fast -w stop >/dev/null && log "${NAMES[$i]} stopped"
        else
            log "${NAMES[$i]} not running"
        fi
    done
}

status() {
    for i in 0 1 2; do
        if answers "${PORTS[$i]}"; then echo "${NAMES[$i]} ${PORTS[$i]} up"; else echo "${NAMES[$i]} ${PORTS[$i]} down"; fi
    done
}

case "${1:-}" in
    build) build ;;
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 build|up|down|status" >&2; exit 2 ;;
esac
