"""Fixtures shared by the integration and end-to-end tests: a real S3-protocol server."""

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import settings as moto_settings
from moto.iam.access_control import AssumedRoleAccessKey
from moto.server import ThreadedMotoServer
from moto.sts.models import sts_backends
from s3fs import S3FileSystem


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str = "trainplat-test-key"
    secret_access_key: str = "trainplat-test-secret"
    # Not us-east-1: s3fs sends it as a LocationConstraint, which S3 (and moto) refuses.
    region: str = "eu-central-1"
    # The role tasks assume, on a server that enforces IAM (`s3_server_with_iam`).
    role_arn: str | None = None

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
    with _moto_server() as endpoint:
        yield S3Server(endpoint)


@pytest.fixture
def s3_server_with_iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """moto enforcing IAM, set up as an administrator sets up MinIO for trainplat: a user for
    the control plane that may use BUCKET_FOR_IAM and assume the task role, and that role,
    whose own policy covers the whole bucket.

    moto evaluates only a role's own policies and ignores the session policy that AWS STS
    and MinIO intersect with them. Here it evaluates the session policy instead, which under
    a role that covers the bucket is that intersection. moto also skips `StringLike`
    conditions, so listing is not confined by prefix here (tests check the policy text)."""
    original = AssumedRoleAccessKey.collect_policies

    def session_policies(key: AssumedRoleAccessKey) -> list[str]:
        backend = sts_backends[key.account_id][key.partition]
        session = backend.get_assumed_role_from_access_key(key._access_key_id)
        return [session.policy] if session is not None and session.policy else original(key)

    monkeypatch.setattr(AssumedRoleAccessKey, "collect_policies", session_policies)
    with _moto_server() as endpoint:
        server = _set_up_iam(endpoint)
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        yield server


BUCKET_FOR_IAM = "training-data"


def _set_up_iam(endpoint: str) -> S3Server:
    setup = {
        "endpoint_url": endpoint,
        "region_name": S3Server.region,
        "aws_access_key_id": "setup",
        "aws_secret_access_key": "setup",
    }
    iam = boto3.client("iam", **setup)
    bucket = [f"arn:aws:s3:::{BUCKET_FOR_IAM}", f"arn:aws:s3:::{BUCKET_FOR_IAM}/*"]
    user = iam.create_user(UserName="trainplat-control-plane")["User"]
    iam.put_user_policy(
        UserName="trainplat-control-plane",
        PolicyName="control-plane",
        PolicyDocument=_allow(["s3:*", "sts:AssumeRole"], ["*"]),
    )
    key = iam.create_access_key(UserName="trainplat-control-plane")["AccessKey"]
    trust = {"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole"}
    role = iam.create_role(
        RoleName="trainplat-tasks",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )["Role"]
    iam.put_role_policy(
        RoleName="trainplat-tasks", PolicyName="bucket", PolicyDocument=_allow(["s3:*"], bucket)
    )
    boto3.client("s3", **setup).create_bucket(
        Bucket=BUCKET_FOR_IAM,
        CreateBucketConfiguration={"LocationConstraint": S3Server.region},
    )
    return S3Server(
        endpoint,
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
        role_arn=role["Arn"],
    )


def _allow(actions: list[str], resources: list[str]) -> str:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@contextmanager
def _moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        # moto keeps its state process-wide, beyond the server thread.
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10
        ).close()
        server.stop()
