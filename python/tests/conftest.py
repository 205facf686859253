"""Fixtures shared by the integration and end-to-end tests: a real S3-protocol server."""

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.server import ThreadedMotoServer
from s3fs import S3FileSystem


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str = "trainplat-test-key"
    secret_access_key: str = "trainplat-test-secret"
    # Not us-east-1: s3fs sends it as a LocationConstraint, which S3 (and moto) refuses.
    region: str = "eu-central-1"

    def aws_env(self) -> dict[str, str]:
        """What the control plane puts in an s3-mounting task's environment."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def filesystem(self) -> Any:
        """A view of the whole server, for creating buckets and checking where objects landed;
        uncached so that a test never reads an earlier listing."""
        return S3FileSystem(
            key=self.access_key_id,
            secret=self.secret_access_key,
            endpoint_url=self.endpoint,
            client_kwargs={"region_name": self.region},
            skip_instance_cache=True,
            use_listings_cache=False,
        )


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """moto's standalone S3 server in this process on a free port of 127.0.0.1 (port 0: the
    kernel picks it, so parallel runs cannot collide)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield S3Server(endpoint)
    # moto keeps its buckets in process-wide state that outlives the server thread.
    urllib.request.urlopen(
        urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10
    ).close()
    server.stop()
