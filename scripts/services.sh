#!/usr/bin/env bash
# Installs (apt, when missing) and starts the servers the tests use, bound to 127.0.0.1,
# each with a throwaway data directory. Prints `export ...` lines for the test commands:
#   eval "$(scripts/services.sh)"
set -euo pipefail

PG_PORT=${TRAINPLAT_TEST_PG_PORT:-55432}
PG_DIR=${TRAINPLAT_TEST_PG_DIR:-/var/tmp/trainplat-test-pg}

log() { echo "services: $*" >&2; }

ensure_packages() {
    "$(dirname "$0")/ensure-packages.sh" "$@"
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

MARIADB_PORT=${TRAINPLAT_TEST_MARIADB_PORT:-53306}
MARIADB_DIR=${TRAINPLAT_TEST_MARIADB_DIR:-/var/tmp/trainplat-test-mariadb}

# MariaDB stands in for Apache Doris (both speak the MySQL protocol). Throwaway datadir,
# 127.0.0.1 only; database `trainplat_test`, user `trainplat` without a password (it may
# create users and kill connections: the tests do both).
start_mariadb() {
    ensure_packages mariadb-server
    local socket="$MARIADB_DIR/mysqld.sock"
    if ! mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1; then
        rm -rf "$MARIADB_DIR"
        mkdir -p "$MARIADB_DIR"
        mariadb-install-db --user=root --datadir="$MARIADB_DIR/data" \
            --auth-root-authentication-method=socket --skip-test-db >/dev/null
        setsid mariadbd --no-defaults --user=root --datadir="$MARIADB_DIR/data" \
            --socket="$socket" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
            --pid-file="$MARIADB_DIR/mariadbd.pid" --log-error="$MARIADB_DIR/server.log" \
            --innodb-flush-log-at-trx-commit=0 --max-connections=300 \
            </dev/null >/dev/null 2>&1 &
        local waited=0
        until mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1; do
            waited=$((waited + 1))
            if [ "$waited" -gt 60 ]; then
                log "MariaDB did not start; see $MARIADB_DIR/server.log"
                exit 1
            fi
            sleep 0.5
        done
        mariadb --socket="$socket" -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS trainplat_test CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'trainplat'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'trainplat'@'127.0.0.1' WITH GRANT OPTION;
SQL
        log "MariaDB started on 127.0.0.1:$MARIADB_PORT"
    fi
    echo "export TRAINPLAT_TEST_MARIADB_URL=mysql+pymysql://trainplat@127.0.0.1:$MARIADB_PORT/trainplat_test"
}

REDIS_PORT=${TRAINPLAT_TEST_REDIS_PORT:-56379}
REDIS_DIR=${TRAINPLAT_TEST_REDIS_DIR:-/var/tmp/trainplat-test-redis}

# Redis for the extraction cache's Redis backend. Throwaway dir, 127.0.0.1 only, no
# persistence, daemonized (so `eval "$(scripts/services.sh)"` returns).
start_redis() {
    ensure_packages redis-server
    if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        rm -rf "$REDIS_DIR"
        mkdir -p "$REDIS_DIR"
        redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" \
            --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/server.log" \
            --save "" --appendonly no --maxmemory 512mb --maxmemory-policy allkeys-lru >/dev/null
        local waited=0
        until redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; do
            waited=$((waited + 1))
            if [ "$waited" -gt 60 ]; then
                log "Redis did not start; see $REDIS_DIR/server.log"
                exit 1
            fi
            sleep 0.5
        done
        log "Redis started on 127.0.0.1:$REDIS_PORT"
    fi
    echo "export TRAINPLAT_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

start_postgres
start_mariadb
start_redis
