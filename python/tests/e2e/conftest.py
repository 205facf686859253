"""The control plane binary under test: TRAINPLAT_BIN, as `make test-e2e` sets it."""

import os
from pathlib import Path

import pytest


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
