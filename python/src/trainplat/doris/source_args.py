"""Task arguments that name a source, shared by `doris.extract` and `doris.test_connection`:
either `source` (path of the embedded SQLite file) or `source_url` (a MySQL-protocol server,
Doris or MariaDB) with its password in the environment variable `password_env`."""

import os
import re
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trainplat.doris.connection import PoolSettings, ServerConfig
from trainplat.doris.server import ServerSource
from trainplat.doris.source import Source, SqliteSource, sqlite_identity

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")


class SourceArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Path | None = Field(None, description="path of the SQLite file with feature_snapshots")
    source_url: str | None = Field(
        None, description="doris://user@host:9030/db or mysql+pymysql://user@host:3306/db"
    )
    password_env: str | None = Field(None, description="env var holding the source password")
    pool_size: int = Field(4, ge=1, le=64)
    pool_max_overflow: int = Field(4, ge=0, le=64)
    connect_timeout_s: int = Field(10, ge=1, le=600)
    read_timeout_s: int = Field(300, ge=1, le=86_400)

    @field_validator("source")
    @classmethod
    def _source_is_usable(cls, source: Path | None) -> Path | None:
        if source is not None:
            SqliteSource.open_existing(source).close()
        return source

    @field_validator("source_url")
    @classmethod
    def _url_is_usable(cls, url: str | None) -> str | None:
        if url is not None:
            ServerConfig(url)  # scheme, host, database, no password in it
        return url

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and not _ENV_NAME.fullmatch(name):
            raise ValueError("must be an environment variable name like DORIS_PASSWORD")
        return name

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.source is None) == (self.source_url is None):
            raise ValueError("give exactly one of source (SQLite path) and source_url")
        if self.password_env is not None:
            if self.source_url is None:
                raise ValueError("password_env applies to source_url only")
            if self.password_env not in os.environ:
                raise ValueError(f"password_env {self.password_env} is not set")
        return self


def server_config(
    source_url: str,
    password_env: str | None,
    *,
    pool_size: int = 4,
    pool_max_overflow: int = 4,
    connect_timeout_s: int = 10,
    read_timeout_s: int = 300,
) -> ServerConfig:
    pool = PoolSettings(
        size=pool_size,
        max_overflow=pool_max_overflow,
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=read_timeout_s,
        write_timeout_s=read_timeout_s,
    )
    return ServerConfig(source_url, password_env, pool)


def open_source(
    source: Path | None,
    source_url: str | None,
    password_env: str | None = None,
    **pool: int,
) -> Source:
    if source is not None:
        return SqliteSource.open_existing(source)
    if source_url is None:
        raise ValueError("give exactly one of source (SQLite path) and source_url")
    return ServerSource(server_config(source_url, password_env, **pool))


def source_identity(source: Path | None, source_url: str | None) -> dict[str, Any]:
    """The identity `open_source(...).identity()` would give, without connecting."""
    if source is not None:
        return sqlite_identity(source)
    if source_url is None:
        raise ValueError("give exactly one of source (SQLite path) and source_url")
    return ServerConfig(source_url).identity()
