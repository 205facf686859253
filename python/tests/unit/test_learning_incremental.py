"""`learning.incremental_update` and `learning.evaluate_windows` on tiny drifting windows,
as plain functions and through the task contract."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from tests.unit.conftest import new_context
from trainplat.datasets.training_set import build_training_set
from trainplat.datasets.training_set_file import METADATA_KEY
from trainplat.datasets.version import file_sha256
from trainplat.doris.extract import extract
from trainplat.doris.source import SqliteSource
from trainplat.learning.checkpoint import load_checkpoint
from trainplat.learning.evaluate_windows import evaluate_windows
from trainplat.learning.incremental_update import IncrementalUpdateArgs, incremental_update
from trainplat.learning.train import train
from trainplat.synthetic.generator import SyntheticConfig, generate

START = datetime(2026, 1, 1, tzinfo=UTC)
SPLIT = datetime(2026, 1, 11, tzinfo=UTC)
END = datetime(2026, 1, 16, tzinfo=UTC)
SMALL: dict[str, object] = {"epochs": 1, "batch_size": 128, "replay_size": 64}


def _with_new_feature(path: Path, out: Path) -> Path:
    """`path` plus a numeric feature `num_new` the parent has never seen."""
    table = pq.read_table(path)
    document = json.loads(table.schema.metadata[METADATA_KEY])
    history = table.schema.field("age_seconds").type.list_size
    values = np.random.default_rng(0).normal(size=table.num_rows * history).astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(values), history)
    document["schema"]["num_new"] = "numeric"
    table = table.append_column("num_new", column)
    pq.write_table(
        table.replace_schema_metadata({METADATA_KEY: json.dumps(document).encode()}), out
    )
    return out


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """early and late training sets of one drifting source, late with a new feature, and a
    parent model trained on early."""
    root = tmp_path_factory.mktemp("incremental")
    source = root / "doris.sqlite"
    config = SyntheticConfig(
        start=START, end=END, entities=120, features=10, seed=3, drift=0.8,
        snapshots_per_entity=14, tag_fraction=0.35,
    )  # fmt: skip
    with SqliteSource.create(source) as sink:
        sink.write(generate(config).snapshot_rows())
    paths: dict[str, Path] = {}
    for name, (start, end) in {"early": (START, SPLIT), "late": (SPLIT, END)}.items():
        snapshots = extract(new_context(root, f"x-{name}"), source=source, start=start, end=end)
        built = build_training_set(
            new_context(root, f"t-{name}"),
            snapshots=Path(str(snapshots.outputs["snapshots"])),
            history=4,
        )
        paths[name] = Path(str(built.outputs["training_set"]))
    paths["late"] = _with_new_feature(paths["late"], root / "late-plus.parquet")
    parent = train(
        new_context(root, "parent"), training_set=paths["early"], epochs=1, d_model=8,
        batch_size=128,
    )  # fmt: skip
    paths["parent"] = Path(str(parent.outputs["model"]))
    return paths


def test_update_extends_the_parent_and_names_it(tmp_path: Path, windows: dict[str, Path]) -> None:
    parent_hash = file_sha256(windows["parent"])

    result = incremental_update(
        new_context(tmp_path, "update"), parent_model=windows["parent"],
        training_set=windows["late"], earlier_sets=(windows["early"],), ewc=True, epochs=1,
        batch_size=128, replay_size=64, device="cpu",
    )  # fmt: skip

    version = result.model_version
    assert version is not None
    document = version.to_json()
    assert document["parent"] == {"artifact_hash": parent_hash}
    assert version.config["parent_artifact_hash"] == parent_hash
    assert [p["type"] for p in version.config["plugins"]] == ["lwf", "replay", "ewc"]  # type: ignore[index, union-attr]
    # what was not passed is the documented update schedule, and recorded
    assert version.config["learning_rate"] == 0.005
    assert version.config["plugins"][1]["batch_fraction"] == 0.5  # type: ignore[index]
    assert result.metrics["new_numeric_features"] == 1.0
    assert result.metrics["replay_rows"] == 64.0
    assert {"loss_task", "loss_distillation", "loss_replay", "loss_ewc"} <= set(result.metrics)
    manifest = json.loads((tmp_path / "update" / "manifest.json").read_text())
    assert manifest["parent"]["artifact_hash"] == parent_hash
    assert manifest["artifact_hash"] == version.artifact_hash
    assert manifest["config"]["device"] == version.config["device"] == "cpu"
    _, encoder = load_checkpoint(Path(str(result.outputs["model"])))
    _, parent_encoder = load_checkpoint(windows["parent"])
    assert encoder.numeric_names == (*parent_encoder.numeric_names, "num_new")


def test_update_rejects_a_manifest_of_another_artifact(
    tmp_path: Path, windows: dict[str, Path]
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"artifact_hash": "0" * 64}))

    with pytest.raises(ValueError, match="describes artifact"):
        incremental_update(
            new_context(tmp_path, "update"), parent_model=windows["parent"],
            parent_manifest=manifest, training_set=windows["late"], replay=False, epochs=1,
            batch_size=128, replay_size=64,
        )  # fmt: skip


def test_update_arguments_need_earlier_sets_for_replay(windows: dict[str, Path]) -> None:
    with pytest.raises(ValidationError, match="need earlier_sets"):
        IncrementalUpdateArgs.model_validate(
            {"parent_model": str(windows["parent"]), "training_set": str(windows["late"])}
        )


def test_update_through_the_task_contract_is_deterministic(
    tmp_path: Path, windows: dict[str, Path]
) -> None:
    # setup
    arguments = {
        "parent_model": str(windows["parent"]),
        "training_set": str(windows["late"]),
        "earlier_sets": [str(windows["early"])],
        "holdout_fraction": 0.25,
        **SMALL,
    }
    task_dir = tmp_path / "update"
    task_dir.mkdir()
    inputs = {
        "task": "update",
        "uses": "learning.incremental_update",
        "run": {"id": "r", "logical_time": "2026-01-16T00:00:00Z"},
        "with": arguments,
    }
    (task_dir / "inputs.json").write_text(json.dumps(inputs))
    # act
    completed = subprocess.run(
        [sys.executable, "-m", "trainplat.tasks", "learning.incremental_update"],
        env={"TRAINPLAT_TASK_DIR": str(task_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    in_process = incremental_update(
        new_context(tmp_path, "again"), parent_model=windows["parent"],
        training_set=windows["late"], earlier_sets=(windows["early"],), holdout_fraction=0.25,
        epochs=1, batch_size=128, replay_size=64,
    )  # fmt: skip
    # check
    assert completed.returncode == 0, completed.stderr
    outputs = json.loads((task_dir / "outputs.json").read_text())
    assert set(outputs) == {"outputs", "metrics", "model_version"}
    assert outputs["model_version"]["parent"] == {"artifact_hash": file_sha256(windows["parent"])}
    assert outputs["outputs"]["train_loss"] == in_process.outputs["train_loss"]
    progress = json.loads((task_dir / "progress.json").read_text())
    assert progress["fraction"] == 1.0


def test_evaluate_windows_reports_forgetting_and_baselines(
    tmp_path: Path, windows: dict[str, Path]
) -> None:
    child = incremental_update(
        new_context(tmp_path, "update"), parent_model=windows["parent"],
        training_set=windows["late"], earlier_sets=(windows["early"],), holdout_fraction=0.25,
        epochs=1, batch_size=128, replay_size=64,
    )  # fmt: skip
    model = Path(str(child.outputs["model"]))

    result = evaluate_windows(
        new_context(tmp_path, "evaluate"), model=model, newest=windows["late"],
        earlier=(windows["early"],), parent_model=windows["parent"], holdout_fraction=0.25,
        baselines=True, baseline_epochs=1, batch_size=128, device="cpu",
    )  # fmt: skip

    metrics = result.metrics
    assert metrics["forgetting_auc"] == pytest.approx(
        metrics["parent_earlier_auc"] - metrics["earlier_auc"]
    )
    assert metrics["newest_gain_auc"] == pytest.approx(
        metrics["newest_auc"] - metrics["parent_newest_auc"]
    )
    assert {"retrain_newest_auc", "retrain_earlier_auc", "finetune_newest_auc"} <= set(metrics)
    rows = result.outputs["windows"]
    assert [w["role"] for w in rows] == ["newest", "earlier"]  # type: ignore[index, union-attr]
    assert result.model_evaluation is not None
    assert result.model_evaluation.artifact_hash == file_sha256(model)
    assert result.outputs["device"] == "cpu"
