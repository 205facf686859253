"""trainplat.storage.mounts on local directories, and how s3 mounts are configured (the s3
round trip against a real server is tests/integration/test_storage_s3.py)."""

from pathlib import Path

import pytest

from trainplat.storage.mounts import MountError, open_mount


def test_local_mount_writes_and_reads_inside_its_directory(tmp_path: Path) -> None:
    mount = open_mount("models", {"MODELS": str(tmp_path), "SHM": "/dev/shm"})
    filesystem = mount.filesystem

    filesystem.makedirs(mount.path("run-1"), exist_ok=True)
    filesystem.pipe(mount.path("run-1/weights.bin"), b"\x00\x01")

    assert (tmp_path / "run-1" / "weights.bin").read_bytes() == b"\x00\x01"
    assert filesystem.cat(mount.path("run-1/weights.bin")) == b"\x00\x01"
    assert filesystem.find(mount.root) == [f"{tmp_path}/run-1/weights.bin"]


def test_missing_mount_names_it_and_lists_the_mounts_there_are(tmp_path: Path) -> None:
    with pytest.raises(MountError, match=r"mount SETS is not given .* \(its mounts: MODELS, SHM\)"):
        open_mount("sets", {"SHM": "/dev/shm", "MODELS": str(tmp_path)})
    with pytest.raises(MountError, match=r"its mounts: none"):
        open_mount("SETS", {})


def test_unknown_url_scheme_is_named() -> None:
    with pytest.raises(MountError, match=r"mount SETS: URL scheme 'gs' of gs://b/p/ is not"):
        open_mount("SETS", {"SETS": "gs://b/p/"})


@pytest.mark.parametrize(
    ("location", "problem"),
    [("relative/dir", "is not an absolute directory"), ("/no/such/dir", "does not exist")],
)
def test_local_mount_must_be_an_existing_absolute_directory(location: str, problem: str) -> None:
    with pytest.raises(MountError, match=f"mount DATA: .*{problem}"):
        open_mount("DATA", {"DATA": location})


@pytest.mark.parametrize("relative", ["../other/file", "a/../../file", "/etc/passwd"])
def test_paths_cannot_leave_the_mount(tmp_path: Path, relative: str) -> None:
    mount = open_mount("DATA", {"DATA": str(tmp_path)})
    with pytest.raises(MountError, match=r"must be relative, without '\.\.'"):
        mount.path(relative)


def test_s3_mount_uses_the_owner_prefix_and_the_endpoint_from_the_environment() -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "key-id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    location = "s3://training-data/project_p1/user_u1/sets/"

    mount = open_mount("SETS", {"SETS": location}, env)

    assert mount.root == "training-data/project_p1/user_u1/sets"
    assert mount.path("day=1/part-0.parquet") == (
        "training-data/project_p1/user_u1/sets/day=1/part-0.parquet"
    )
    filesystem = mount.filesystem
    assert (filesystem.endpoint_url, filesystem.key, filesystem.secret) == (
        "http://127.0.0.1:9",
        "key-id",
        "secret",
    )
    assert filesystem.client_kwargs["region_name"] == "eu-west-1"


def test_s3_url_without_bucket_is_refused() -> None:
    with pytest.raises(MountError, match="mount SETS: s3:///p/ names no bucket"):
        open_mount("SETS", {"SETS": "s3:///p/"}, {})
