"""Task program `doris.test_connection`: can the platform reach this source, how fast, and
what is it? Reports the median latency of a few round trips and the server's version."""

import statistics
import time
from pathlib import Path

from pydantic import Field

from trainplat.doris.source_args import SourceArgs, open_source
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import TaskResult


class ConnectionCheckArgs(SourceArgs):
    pings: int = Field(5, ge=1, le=100)


def check_connection(
    context: TaskContext,
    *,
    source: Path | None = None,
    source_url: str | None = None,
    password_env: str | None = None,
    pool_size: int = 4,
    pool_max_overflow: int = 4,
    connect_timeout_s: int = 10,
    read_timeout_s: int = 300,
    pings: int = 5,
) -> TaskResult:
    pool = {
        "pool_size": pool_size,
        "pool_max_overflow": pool_max_overflow,
        "connect_timeout_s": connect_timeout_s,
        "read_timeout_s": read_timeout_s,
    }
    with open_source(source, source_url, password_env, **pool) as snapshots:
        context.report_progress(0.0, "connecting")
        version = snapshots.server_version()  # also opens the first pooled connection
        latencies = []
        for index in range(pings):
            began = time.perf_counter()
            snapshots.ping()
            latencies.append((time.perf_counter() - began) * 1000)
            context.report_progress((index + 1) / pings, f"ping {index + 1}/{pings}")
        dialect = snapshots.dialect.name
    latency_ms = round(statistics.median(latencies), 3)
    return TaskResult(
        outputs={
            "ok": True,
            "dialect": dialect,
            "server_version": version,
            "latency_ms": latency_ms,
            "pings": pings,
        },
        metrics={"latency_ms": latency_ms},
    )


TEST_CONNECTION_PROGRAM = TaskProgram(
    name="doris.test_connection", arguments=ConnectionCheckArgs, function=check_connection
)
