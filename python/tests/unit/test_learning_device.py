"""The `device` argument of the learning task programs and CPU checkpoints. CI has no GPU:
GPU availability is patched where a test is about the answer to it, and the one test that
needs a real GPU is skipped without one."""

from pathlib import Path

import pytest
import torch
from pydantic import BaseModel, ValidationError

from tests.unit.test_learning_plugins import toy_batch, toy_model
from trainplat.learning.checkpoint import load_checkpoint, save_checkpoint
from trainplat.learning.device import resolve_device
from trainplat.learning.encoding import FeatureEncoder
from trainplat.learning.evaluate import EvaluateArgs
from trainplat.learning.evaluate_windows import EvaluateWindowsArgs
from trainplat.learning.incremental_update import IncrementalUpdateArgs
from trainplat.learning.model import TransformerTimeSeriesModel, predict
from trainplat.learning.train import TrainArgs

ARCHITECTURE = {"d_model": 8, "heads": 2, "layers": 1, "dropout": 0.0}


def _gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def _arguments(tmp_path: Path) -> list[tuple[type[BaseModel], dict[str, object]]]:
    """Every learning task program's argument model with valid arguments but `device`."""
    path = tmp_path / "file"
    path.write_bytes(b"")
    return [
        (TrainArgs, {"training_set": path}),
        (EvaluateArgs, {"model": path, "training_set": path}),
        (IncrementalUpdateArgs, {"parent_model": path, "training_set": path, "replay": False}),
        (EvaluateWindowsArgs, {"model": path, "newest": path}),
    ]


def test_device_defaults_to_auto_which_is_the_cpu_without_a_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gpus(monkeypatch, 0)

    defaults = [model.model_validate(fields).model_dump() for model, fields in _arguments(tmp_path)]

    assert [d["device"] for d in defaults] == ["auto"] * 4
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_and_cuda_choose_the_gpu_when_there_is_one(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpus(monkeypatch, 2)

    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_an_argument_error_naming_field_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, device: str
) -> None:
    _gpus(monkeypatch, 0)

    for model, fields in _arguments(tmp_path):
        assert model.model_validate({**fields, "device": "cpu"})  # valid but for the device
        with pytest.raises(ValidationError) as raised:
            model.model_validate({**fields, "device": device})
        [error] = raised.value.errors()
        assert error["loc"] == ("device",), model
        assert f"device {device!r}: CUDA is not available" in error["msg"]


def test_unknown_device_names_and_missing_gpu_indices_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gpus(monkeypatch, 1)
    [(model, fields), *_] = _arguments(tmp_path)

    for device, message in [
        ("gpu", "not one of 'auto', 'cpu', 'cuda', 'cuda:N'"),
        ("cuda:01", "not one of"),
        ("CPU", "not one of"),
        ("cuda:1", "has 1 CUDA device(s)"),
    ]:
        with pytest.raises(ValidationError) as raised:
            model.model_validate({**fields, "device": device})
        [error] = raised.value.errors()
        assert error["loc"] == ("device",)
        assert f"device {device!r}" in error["msg"]
        assert message in error["msg"], device
    assert model.model_validate({**fields, "device": "cuda:0"})
    with pytest.raises(ValueError, match="'gpu'"):
        resolve_device("gpu")


def _encoder() -> FeatureEncoder:
    return FeatureEncoder(("a", "b", "c"), (0.0,) * 3, (1.0,) * 3, {"k": ("x", "y", "z")})


def _round_trip(model: TransformerTimeSeriesModel, path: Path) -> None:
    """Saves `model`, then checks the file holds CPU tensors only and loads (onto the CPU)
    as the same function."""
    batch = toy_batch(16, seed=1, informative=0)
    expected = predict(model, batch, 8).cpu()

    save_checkpoint(path, model, _encoder(), ARCHITECTURE)

    # No map_location: a tensor saved from a GPU would be restored onto one.
    document = torch.load(path, weights_only=True)
    assert {tensor.device.type for tensor in document["state_dict"].values()} == {"cpu"}
    loaded, _ = load_checkpoint(path)
    assert {p.device.type for p in loaded.parameters()} == {"cpu"}
    assert torch.allclose(predict(loaded, batch, 8), expected, atol=1e-6)


def test_checkpoint_round_trip_keeps_the_function(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    _round_trip(toy_model(seed=3), tmp_path / "model.pt")


# Deselected by `make test` (CI has no GPU); on a GPU machine: `pytest -m gpu`. Without a
# GPU it fails rather than skips, so a GPU run that silently lost its device is noticed.
@pytest.mark.gpu
def test_a_gpu_model_saves_cpu_tensors_and_loads_on_the_cpu(tmp_path: Path) -> None:
    assert torch.cuda.is_available(), "pytest -m gpu needs a CUDA device"
    _round_trip(toy_model(seed=3).to("cuda"), tmp_path / "model.pt")
