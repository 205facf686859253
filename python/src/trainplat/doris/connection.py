"""Connections to MySQL-protocol sources (Apache Doris, MariaDB): one pooled SQLAlchemy
engine per source configuration and process, and retries of transient failures.

mysqlclient (MySQLdb, a C extension over libmariadb) speaks the protocol for both: it
decodes rows about five times faster than pure-Python pymysql, which reading millions of
snapshots is bound by. The URL's driver suffix (`+pymysql`) is accepted for compatibility
and names only the dialect. Passwords never travel in URLs or task inputs: they are read
from the environment variable the configuration names."""

import hashlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import MySQLdb
import pymysql
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

T = TypeVar("T")

# URL scheme -> dialect name. The engine always uses SQLAlchemy's mysql+mysqldb driver.
SCHEMES = {
    "doris": "doris",
    "doris+pymysql": "doris",
    "doris+mysqldb": "doris",
    "mysql": "mariadb",
    "mysql+pymysql": "mariadb",
    "mysql+mysqldb": "mariadb",
    "mariadb": "mariadb",
    "mariadb+pymysql": "mariadb",
    "mariadb+mysqldb": "mariadb",
}
DRIVER = "mysql+mysqldb"
DEFAULT_PORTS = {"doris": 9030, "mariadb": 3306}

# Client errors meaning "the connection, not the statement, failed": 2002 and 2003 can't
# connect (libmariadb reports a refused TCP connection as 2002), 2006 server has gone away,
# 2013 lost connection during query, 2055 lost connection at reading/writing. SQL errors
# (syntax, unknown column, ...) are never retried.
TRANSIENT_MYSQL_CODES = frozenset({2002, 2003, 2006, 2013, 2055})

_DATABASE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[?[0-9A-Fa-f:.]+\]?")


@dataclass(frozen=True)
class PoolSettings:
    """Bounds of one source's connection pool and its network timeouts."""

    size: int = 4
    max_overflow: int = 4
    timeout_s: float = 30.0  # waiting for a free connection
    recycle_s: int = 1800  # replace connections older than this (server idle timeouts)
    pre_ping: bool = True  # test a connection on checkout, replace it if dead
    connect_timeout_s: int = 10
    read_timeout_s: int = 300
    write_timeout_s: int = 300

    def __post_init__(self) -> None:
        if self.size < 1 or self.max_overflow < 0:
            raise ValueError("pool size must be >= 1 and max_overflow >= 0")
        for name in ("timeout_s", "connect_timeout_s", "read_timeout_s", "write_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True)
class ServerConfig:
    """Where a MySQL-protocol source is. `url` like `doris://user@host:9030/db` or
    `mysql+pymysql://user@127.0.0.1:3306/db`; it must not hold a password."""

    url: str
    password_env: str | None = None
    pool: PoolSettings = field(default_factory=PoolSettings)

    def __post_init__(self) -> None:
        parsed = self.parsed_url()
        if parsed.drivername not in SCHEMES:
            known = ", ".join(sorted(SCHEMES))
            raise ValueError(f"unsupported source URL scheme {parsed.drivername!r} ({known})")
        if parsed.password is not None:
            raise ValueError("source_url must not contain a password; name an env var instead")
        if not parsed.host or not parsed.database:
            raise ValueError("source_url needs a host and a database")
        # Names of the source are checked like feature keys: they reach the server (and logs).
        for what, value, pattern in (
            ("database", parsed.database, _DATABASE),
            ("user", parsed.username, _USER),
            ("host", parsed.host, _HOST),
        ):
            if value is not None and not pattern.fullmatch(value):
                raise ValueError(
                    f"source_url {what} {value[:40]!r} has characters outside {pattern.pattern}"
                )
        if parsed.query:
            raise ValueError("source_url must not carry query parameters")

    def parsed_url(self) -> URL:
        try:
            return make_url(self.url)
        except Exception as error:  # sqlalchemy raises ArgumentError with the URL in it
            raise ValueError(f"source_url is not a URL: {type(error).__name__}") from None

    @property
    def dialect_name(self) -> str:
        return SCHEMES[self.parsed_url().drivername]

    def password(self) -> str | None:
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ValueError(f"password_env {self.password_env} is not set in the environment")
        return value

    def identity(self) -> dict[str, Any]:
        """What names the data (not how it is reached): part of cache keys. No secrets."""
        parsed = self.parsed_url()
        return {
            "kind": self.dialect_name,
            "host": parsed.host,
            "port": parsed.port or DEFAULT_PORTS[self.dialect_name],
            "database": parsed.database,
            "user": parsed.username,
        }


_engines: dict[tuple[Any, ...], Engine] = {}
_engines_lock = threading.Lock()


def engine_for(config: ServerConfig) -> Engine:
    """The process-wide engine of this configuration (created on first use)."""
    password = config.password()
    # The password's digest, not the password, so a rotated secret gets a fresh engine.
    digest = hashlib.sha256((password or "").encode()).hexdigest()
    key = (config.url, config.password_env, digest, config.pool)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(config, password)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and forked workers)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create_engine(config: ServerConfig, password: str | None) -> Engine:
    parsed = config.parsed_url()
    url = URL.create(
        DRIVER,
        username=parsed.username,
        password=password,
        host=parsed.host,
        port=parsed.port or DEFAULT_PORTS[config.dialect_name],
        database=parsed.database,
    )
    pool = config.pool
    return create_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_s,
        pool_recycle=pool.recycle_s,
        pool_pre_ping=pool.pre_ping,
        connect_args={
            "connect_timeout": pool.connect_timeout_s,
            "read_timeout": pool.read_timeout_s,
            "write_timeout": pool.write_timeout_s,
            "charset": "utf8mb4",
            # DATETIME columns hold UTC wall-clock time.
            "init_command": "SET time_zone = '+00:00'",
        },
    )


def is_transient(error: BaseException) -> bool:
    """True for failures of the connection (worth a new connection and another try)."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
    if isinstance(error, ConnectionError):  # reset, aborted, broken pipe
        return True
    # Both drivers' classes: the engine uses mysqlclient; pymysql's are kept for callers
    # that hand in their own connections' errors.
    interface = (MySQLdb.InterfaceError, pymysql.err.InterfaceError)
    if isinstance(error, (MySQLdb.OperationalError, pymysql.err.OperationalError, *interface)):
        code = error.args[0] if error.args else None
        # InterfaceError(0, '') is the drivers' "this connection is already closed".
        return code in TRANSIENT_MYSQL_CODES or (isinstance(error, interface) and code == 0)
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: base * 2**n, capped, up to `attempts` tries."""

    attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, operation: Callable[[], T], what: str = "query") -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except Exception as error:
                if attempt == self.attempts or not is_transient(error):
                    raise
                delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2
                log.warning(
                    "%s failed (attempt %d/%d, retrying in %.2fs): %s",
                    what,
                    attempt,
                    self.attempts,
                    delay,
                    error,
                )
                self.sleep(delay)
        raise AssertionError("unreachable")
