"""The control plane binary under test: TRAINPLAT_BIN, as `make test-e2e` sets it."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server


@pytest.fixture(scope="session")
def trainplat_bin() -> Path:
    path = os.environ.get("TRAINPLAT_BIN")
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("TRAINPLAT_BIN is not set; CI runs the end-to-end tests (make test-e2e)")
        pytest.skip("TRAINPLAT_BIN not set: build with `make build` and run `make test-e2e`")
    binary = Path(path)
    assert binary.is_file(), f"TRAINPLAT_BIN={path} does not exist"
    return binary


@pytest.fixture
def server(trainplat_bin: Path, tmp_path: Path) -> Iterator[Server]:
    """A server on a free port with its own data directory; the test starts it."""
    server = Server(trainplat_bin, tmp_path / "data")
    yield server
    server.stop(signal.SIGTERM)
