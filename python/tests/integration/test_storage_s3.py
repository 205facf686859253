"""s3 mounts through trainplat.storage.mounts against a real S3-protocol server (moto)."""

import pytest

from tests.conftest import S3Server
from trainplat.storage.mounts import open_mount

pytestmark = pytest.mark.integration

BUCKET = "training-data"
OWNER_A = f"s3://{BUCKET}/project_p1/user_a/sets/"
OWNER_B = f"s3://{BUCKET}/project_p1/user_b/sets/"


def test_s3_mount_writes_and_reads_objects_below_its_owner_prefix(s3_server: S3Server) -> None:
    # setup: one bucket, two owners' mounts in it
    s3_server.filesystem().mkdir(BUCKET)
    mounts = {"SETS": OWNER_A, "OTHER": OWNER_B}
    mine = open_mount("SETS", mounts, s3_server.aws_env())
    theirs = open_mount("OTHER", mounts, s3_server.aws_env())

    # act
    mine.filesystem.pipe(mine.path("day=1/part-0.bin"), b"mine")
    with mine.filesystem.open(mine.path("notes.txt"), "w") as notes:
        notes.write("written through the mount")
    theirs.filesystem.pipe(theirs.path("day=1/part-0.bin"), b"theirs")

    # check: the bytes read back, and the keys the server holds
    assert mine.filesystem.cat(mine.path("day=1/part-0.bin")) == b"mine"
    with mine.filesystem.open(mine.path("notes.txt"), "r") as notes:
        assert notes.read() == "written through the mount"
    assert sorted(mine.filesystem.find(mine.root)) == [
        f"{BUCKET}/project_p1/user_a/sets/day=1/part-0.bin",
        f"{BUCKET}/project_p1/user_a/sets/notes.txt",
    ]
    assert s3_server.filesystem().find(BUCKET) == [
        f"{BUCKET}/project_p1/user_a/sets/day=1/part-0.bin",
        f"{BUCKET}/project_p1/user_a/sets/notes.txt",
        f"{BUCKET}/project_p1/user_b/sets/day=1/part-0.bin",
    ]
