#!/usr/bin/env bash
# Installs (apt, when missing) and starts the servers the tests use, bound to 127.0.0.1,
# each with a throwaway data directory. Prints `export ...` lines for the test commands:
#   eval "$(scripts/services.sh)"
set -euo pipefail

PG_PORT=${TRAINPLAT_TEST_PG_PORT:-55432}
PG_DIR=${TRAINPLAT_TEST_PG_DIR:-/var/tmp/trainplat-test-pg}

log() { echo "services: $*" >&2; }

ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
}

start_postgres() {
    ensure_packages postgresql
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if ! "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q; then
        rm -rf "$PG_DIR"
        mkdir -p "$PG_DIR"
        chown postgres:postgres "$PG_DIR"
        su postgres -c "$bin/initdb -D $PG_DIR/data -A trust -U postgres" >/dev/null
        su postgres -c "$bin/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log -w start \
            -o '-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200'" >/dev/null
        log "PostgreSQL started on 127.0.0.1:$PG_PORT"
    fi
    echo "export TRAINPLAT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
}

start_postgres
