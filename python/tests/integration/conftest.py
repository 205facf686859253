"""Servers for integration tests. MariaDB (standing in for Doris over the MySQL protocol) and
Redis are started by scripts/services.sh, which prints TRAINPLAT_TEST_MARIADB_URL and
TRAINPLAT_TEST_REDIS_URL."""

import os
from collections.abc import Iterator

import pytest

from trainplat.doris.connection import ServerConfig, dispose_engines
from trainplat.doris.server import ServerSource

MARIADB_URL_ENV = "TRAINPLAT_TEST_MARIADB_URL"
REDIS_URL_ENV = "TRAINPLAT_TEST_REDIS_URL"


def service_url(variable: str) -> str:
    """The URL scripts/services.sh exported in `variable`: a named skip when it is unset,
    a failure under CI (which must test against the real server)."""
    url = os.environ.get(variable)
    if not url:
        message = f'{variable} is not set: run eval "$(scripts/services.sh)"'
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def redis_url() -> str:
    return service_url(REDIS_URL_ENV)


@pytest.fixture
def mariadb_url() -> str:
    return service_url(MARIADB_URL_ENV)


@pytest.fixture
def mariadb(mariadb_url: str) -> Iterator[ServerSource]:
    """A MariaDB source with a fresh, empty feature_snapshots table."""
    source = ServerSource(ServerConfig(mariadb_url))
    source.execute("DROP TABLE IF EXISTS feature_snapshots")
    source.create_table()
    yield source
    dispose_engines()
