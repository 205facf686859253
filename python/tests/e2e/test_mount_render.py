"""`trainplat mount render` output validated against the official Kubernetes schemas.

Kubernetes itself cannot run here; kubernetes-validate carries the API server's OpenAPI
schemas, so a rendered Pod that a cluster would reject fails these tests.
"""

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

pytestmark = pytest.mark.e2e

KUBERNETES_VERSION = "1.33"
POLICY = {
    "TRAINPLAT_HOSTPATH_ROOTS": "/data/shared:ro,/scratch",
    "TRAINPLAT_NFS_EXPORTS": "nfs.internal/exports/team",
    "TRAINPLAT_S3_BUCKETS": "training-data",
}
EVERY_TYPE = (
    "models/run-1(pvc):/mnt/models:ro, /data/shared/imagenet(hostpath):/data,"
    " cfg(configmap):/etc/cfg, creds(secret):/var/creds, 2Gi(memory):/dev/shm,"
    " nfs.internal/exports/team/raw(nfs):/mnt/raw,"
    " training-data/sets(s3):/mnt/sets"
)


def _render(binary: Path, spec: str, user: str = "7") -> dict[str, Any]:
    result = subprocess.run(
        [str(binary), "mount", "render", "--user", user, "--project", "p1", spec],
        env={**os.environ, **POLICY},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pod: dict[str, Any] = json.loads(result.stdout)
    return pod


def test_render_every_mount_type_is_a_valid_pod(trainplat_bin: Path) -> None:
    # act
    pod = _render(trainplat_bin, EVERY_TYPE)
    # check
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    volumes = pod["spec"]["volumes"]
    sources = [next(key for key in volume if key != "name") for volume in volumes]
    assert sources == [
        "persistentVolumeClaim",
        "hostPath",
        "configMap",
        "secret",
        "emptyDir",
        "nfs",
        "csi",
    ]
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert mounts[0]["subPath"] == "project_p1/user_7/run-1"
    assert volumes[5]["nfs"]["path"] == "/exports/team/project_p1/user_7/raw"


def test_render_two_users_never_share_a_sub_path(trainplat_bin: Path) -> None:
    # act
    mine = _render(trainplat_bin, "workspace(pvc):/mnt/ws", user="7")
    theirs = _render(trainplat_bin, "workspace(pvc):/mnt/ws", user="8")
    # check
    sub_paths = [
        pod["spec"]["containers"][0]["volumeMounts"][0]["subPath"] for pod in (mine, theirs)
    ]
    assert sub_paths == ["project_p1/user_7", "project_p1/user_8"]


def test_validator_rejects_a_broken_volume_so_the_check_above_can_fail(trainplat_bin: Path) -> None:
    # setup: the valid Pod with one field a cluster would reject
    pod = copy.deepcopy(_render(trainplat_bin, "2Gi(memory):/dev/shm"))
    pod["spec"]["volumes"][0]["emptyDir"]["medium"] = {"not": "a string"}
    # act / check
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


def test_validate_outside_the_policy_exits_non_zero_naming_the_problem(trainplat_bin: Path) -> None:
    # act
    result = subprocess.run(
        [str(trainplat_bin), "mount", "validate", "--user", "7", "/etc(hostpath):/data"],
        env={**os.environ, **POLICY},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # check
    assert result.returncode == 1
    assert "host path '/etc' is not under an allowed root" in result.stderr
