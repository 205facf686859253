"""Connection management without a server: configuration, engine reuse, retry decisions."""

import socket

import MySQLdb
import pymysql
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from tests.unit.conftest import SourceFactory, snapshot
from trainplat.doris.connection import (
    PoolSettings,
    RetryPolicy,
    ServerConfig,
    engine_for,
    is_transient,
)
from trainplat.doris.connection_check import check_connection
from trainplat.doris.server import ServerSource
from trainplat.doris.source_args import SourceArgs
from trainplat.tasks.context import TaskContext


def test_server_config_refuses_password_in_url_and_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="must not contain a password"):
        ServerConfig("mysql+pymysql://u:secret@h:3306/db")
    with pytest.raises(ValueError, match="unsupported source URL scheme"):
        ServerConfig("postgresql://u@h/db")
    with pytest.raises(ValueError, match="host and a database"):
        ServerConfig("doris://u@h")
    assert ServerConfig("doris://u@h/db").identity() == {
        "kind": "doris",
        "host": "h",
        "port": 9030,
        "database": "db",
        "user": "u",
    }


def test_engines_are_reused_per_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_TEST_PASSWORD", "one")
    config = ServerConfig("mysql+pymysql://u@127.0.0.1:1/db", "TP_TEST_PASSWORD")

    first = engine_for(config)
    again = engine_for(ServerConfig("mysql+pymysql://u@127.0.0.1:1/db", "TP_TEST_PASSWORD"))
    other_pool = engine_for(
        ServerConfig("mysql+pymysql://u@127.0.0.1:1/db", "TP_TEST_PASSWORD", PoolSettings(size=2))
    )
    monkeypatch.setenv("TP_TEST_PASSWORD", "rotated")
    rotated = engine_for(config)

    assert first is again
    assert other_pool is not first
    assert rotated is not first
    assert first.pool.size() == 4  # type: ignore[attr-defined]
    assert "one" not in repr(first.url)


def _operational(code: int) -> OperationalError:
    return OperationalError("SELECT 1", (), pymysql.err.OperationalError(code, "gone"))


@pytest.mark.parametrize("code", [2003, 2006, 2013, 2055])
def test_connection_losses_are_transient(code: int) -> None:
    assert is_transient(_operational(code))


@pytest.mark.parametrize("code", [2002, 2003, 2006, 2013, 2055])
def test_mysqlclient_connection_losses_are_transient(code: int) -> None:
    # The engine's driver is mysqlclient: its errors, wrapped by SQLAlchemy or not.
    lost = MySQLdb.OperationalError(code, "lost")
    assert is_transient(OperationalError("SELECT 1", (), lost))
    assert is_transient(lost)
    assert is_transient(MySQLdb.InterfaceError(0, ""))  # already closed
    assert not is_transient(MySQLdb.ProgrammingError(1064, "syntax"))
    assert not is_transient(MySQLdb.OperationalError(1045, "access denied"))


def test_engine_uses_mysqlclient_whatever_the_url_driver() -> None:
    engine = engine_for(ServerConfig("mysql+pymysql://u@127.0.0.1:1/db"))
    assert engine.dialect.driver == "mysqldb"


def test_sql_errors_are_not_transient() -> None:
    syntax = ProgrammingError("SELEC", (), pymysql.err.ProgrammingError(1064, "syntax"))
    assert not is_transient(syntax)
    assert not is_transient(_operational(1045))  # access denied
    assert is_transient(ConnectionResetError())


def test_retry_policy_retries_transient_then_succeeds_and_never_sql_errors() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=3, base_delay_s=0.1, sleep=sleeps.append)
    failures = [_operational(2013), _operational(2006)]

    def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    def syntax() -> str:
        raise ProgrammingError("SELEC", (), pymysql.err.ProgrammingError(1064, "syntax"))

    assert policy.call(flaky) == "ok"
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0] * 0.9  # backoff grows (with jitter)
    with pytest.raises(ProgrammingError):
        policy.call(syntax)
    assert len(sleeps) == 2


def test_unreachable_server_fails_after_retries() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    source = ServerSource(
        ServerConfig(f"mysql+pymysql://u@127.0.0.1:{port}/db", pool=PoolSettings(pre_ping=False)),
        retry=RetryPolicy(attempts=3, sleep=sleeps.append),
    )

    # libmariadb (mysqlclient) says 2002 for a refused TCP connection, pymysql 2003.
    with pytest.raises(OperationalError, match=r"200[23]"):
        source.ping()
    assert len(sleeps) == 2


def test_source_args_need_exactly_one_source(make_source: SourceFactory) -> None:
    path = make_source([snapshot("a", 1, {"x": 1})])
    with pytest.raises(ValueError, match="exactly one"):
        SourceArgs.model_validate({})
    with pytest.raises(ValueError, match="exactly one"):
        SourceArgs.model_validate({"source": str(path), "source_url": "doris://u@h/db"})
    with pytest.raises(ValueError, match="is not set"):
        SourceArgs.model_validate(
            {"source_url": "doris://u@h/db", "password_env": "TP_SURELY_UNSET_PASSWORD"}
        )
    with pytest.raises(ValueError, match="environment variable name"):
        SourceArgs.model_validate({"source_url": "doris://u@h/db", "password_env": "x; rm"})


def test_check_connection_on_sqlite(context: TaskContext, make_source: SourceFactory) -> None:
    path = make_source([snapshot("a", 1, {"x": 1})])

    result = check_connection(context, source=path, pings=3)

    assert result.outputs["ok"] is True
    assert result.outputs["dialect"] == "sqlite"
    assert str(result.outputs["server_version"]).startswith("3.")
    assert float(str(result.outputs["latency_ms"])) >= 0
    assert result.metrics["latency_ms"] == result.outputs["latency_ms"]
