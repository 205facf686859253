"""A task's mounts as fsspec filesystems: one way to read and write any mount by name,
whether the control plane gave it a local directory or an `s3://` URL (docs/storage.md).

    mount = open_mount("SETS", context.mounts)
    with mount.filesystem.open(mount.path("part-0.parquet"), "wb") as out: ...

s3 mounts use the endpoint and credentials the control plane puts in the task's
environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN` when they are temporary credentials scoped to the task's prefixes,
`AWS_DEFAULT_REGION`); the URL's prefix is the owner's, so paths are kept below it."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from fsspec.implementations.local import LocalFileSystem
from s3fs import S3FileSystem


class MountError(Exception):
    """A mount the task asked for is missing or cannot be reached."""


@dataclass(frozen=True)
class Mount:
    name: str
    # What the control plane gave: a directory or an s3:// URL.
    location: str
    filesystem: Any  # fsspec.AbstractFileSystem; fsspec ships no type information
    # The mount's top in `filesystem`'s own path form: `/dir` locally, `bucket/prefix` on s3.
    root: str

    def path(self, relative: str = "") -> str:
        """`relative` (`a/b.txt`) below the mount's root; refuses anything that would leave it,
        because on s3 the prefix above the root is other owners' data."""
        parts = PurePosixPath(relative).parts
        if relative.startswith("/") or ".." in parts:
            raise MountError(f"mount {self.name}: path {relative!r} must be relative, without '..'")
        return "/".join([self.root, *parts])


def open_mount(name: str, mounts: Mapping[str, str], env: Mapping[str, str] | None = None) -> Mount:
    """The mount called `name` (as in `TRAINPLAT_MOUNT_<NAME>`, any case) among `mounts`
    (`TaskContext.mounts`); s3 settings come from `env`, the process environment by default."""
    key = name.upper()
    location = mounts.get(key)
    if location is None:
        known = ", ".join(sorted(mounts)) or "none"
        raise MountError(f"mount {key} is not given to this task (its mounts: {known})")
    scheme = urlsplit(location).scheme
    if scheme == "s3":
        return _s3_mount(key, location, os.environ if env is None else env)
    if scheme == "":
        return _local_mount(key, location)
    raise MountError(
        f"mount {key}: URL scheme {scheme!r} of {location} is not supported "
        "(mounts are local directories or s3:// URLs)"
    )


def _local_mount(name: str, location: str) -> Mount:
    directory = PurePosixPath(location)
    if not directory.is_absolute():
        raise MountError(f"mount {name}: {location!r} is not an absolute directory")
    if not os.path.isdir(directory):
        raise MountError(f"mount {name}: directory {location} does not exist")
    return Mount(name, location, LocalFileSystem(), str(directory))


def _s3_mount(name: str, location: str, env: Mapping[str, str]) -> Mount:
    parts = urlsplit(location)
    if not parts.netloc:
        raise MountError(f"mount {name}: {location} names no bucket")
    # Unset variables stay None so that botocore's own lookup (config files, instance roles)
    # applies, as it would for any other S3 client in the task.
    filesystem = S3FileSystem(
        key=env.get("AWS_ACCESS_KEY_ID"),
        secret=env.get("AWS_SECRET_ACCESS_KEY"),
        token=env.get("AWS_SESSION_TOKEN"),
        endpoint_url=env.get("AWS_ENDPOINT_URL"),
        client_kwargs={"region_name": env.get("AWS_DEFAULT_REGION")},
    )
    return Mount(name, location, filesystem, (parts.netloc + parts.path).rstrip("/"))
