"""`models.promote`: names the model by its artifact hash and asks for the alias; the gate
itself is the control plane's (Swift ModelAliasTests covers the move and the refusal)."""

import json
from pathlib import Path

from tests.unit.test_runner import run, write_inputs
from trainplat.datasets.version import file_sha256
from trainplat.tasks.registry import REGISTRY
from trainplat.tasks.runner import EXIT_BAD_INPUTS, EXIT_OK


def test_promote_reports_the_models_artifact_hash_and_alias(tmp_path: Path) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    write_inputs(tmp_path, "models.promote", {"model": str(model), "alias": "staging"})

    code, stderr = run(tmp_path, "models.promote", REGISTRY)

    assert code == EXIT_OK, stderr
    document = json.loads((tmp_path / "outputs.json").read_text())
    assert document["model_promotion"] == {"artifact_hash": file_sha256(model), "alias": "staging"}


def test_promote_refuses_a_bad_alias_and_a_missing_model_naming_the_field(tmp_path: Path) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    write_inputs(tmp_path, "models.promote", {"model": str(model), "alias": "../prod"})
    bad_alias, alias_error = run(tmp_path, "models.promote", REGISTRY)
    write_inputs(tmp_path, "models.promote", {"model": str(tmp_path / "absent.pt")})
    missing, model_error = run(tmp_path, "models.promote", REGISTRY)

    assert (bad_alias, missing) == (EXIT_BAD_INPUTS, EXIT_BAD_INPUTS)
    assert "alias" in alias_error
    assert "model" in model_error
    assert not (tmp_path / "outputs.json").exists()
