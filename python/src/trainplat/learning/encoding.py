"""From a training-set file to model tensors: categorical vocabularies (with an
out-of-vocabulary bucket) and numeric normalisation statistics, fitted on the training set
and reused unchanged for any later evaluation set, and the targets of the model's outputs
(`outputs.py`, `targets.py`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from trainplat.datasets.training_set_file import TrainingSetData
from trainplat.learning.outputs import (
    DEFAULT_OUTPUTS,
    ClassificationOutput,
    ForecastOutput,
    Output,
    RegressionOutput,
    check_outputs,
    outputs_from_json,
    outputs_to_json,
)
from trainplat.learning.targets import forecast_targets, regression_targets

PAD_OR_MISSING = 0  # embedding row for padding and missing values (kept at zero)
OUT_OF_VOCABULARY = 1  # embedding row shared by every value unseen in training
FIRST_VALUE = 2


@dataclass(frozen=True)
class EncodedBatch:
    numeric: torch.Tensor  # [n, history, n_numeric] float32, NaN where missing or padding
    categorical: torch.Tensor  # [n, history, n_categorical] int64 codes
    log_age: torch.Tensor  # [n, history] float32: log1p(age in hours)
    padding: torch.Tensor  # [n, history] bool, True on padding positions
    # [n, outputs] float32, one column per output: the 0/1 label of a classification, the
    # normalised value of a numeric output; NaN where the row has no target for it.
    targets: torch.Tensor

    @property
    def rows(self) -> int:
        return int(self.targets.shape[0])

    def select(self, index: torch.Tensor) -> "EncodedBatch":
        return EncodedBatch(
            numeric=self.numeric[index],
            categorical=self.categorical[index],
            log_age=self.log_age[index],
            padding=self.padding[index],
            targets=self.targets[index],
        )

    def to(self, device: torch.device) -> "EncodedBatch":
        """The same rows on `device` (this batch itself when it is there already)."""
        if self.targets.device == device:
            return self
        return EncodedBatch(
            numeric=self.numeric.to(device),
            categorical=self.categorical.to(device),
            log_age=self.log_age.to(device),
            padding=self.padding.to(device),
            targets=self.targets.to(device),
        )


@dataclass(frozen=True)
class FeatureEncoder:
    numeric_names: tuple[str, ...]
    numeric_mean: tuple[float, ...]
    numeric_std: tuple[float, ...]
    vocabularies: dict[str, tuple[str, ...]]  # categorical name -> values, code = index + 2
    outputs: tuple[Output, ...] = DEFAULT_OUTPUTS  # what the model predicts, in its order

    @classmethod
    def fit(
        cls, data: TrainingSetData, outputs: Sequence[Output] = DEFAULT_OUTPUTS
    ) -> "FeatureEncoder":
        outputs = check_outputs(outputs)
        numeric_features = [n for n, kind in data.schema.items() if kind == "numeric"]
        unknown = sorted(
            {o.feature for o in outputs if not isinstance(o, ClassificationOutput)}
            - set(numeric_features)
        )
        if unknown:
            raise ValueError(
                f"outputs name features {unknown}, which are not numeric features of the "
                f"training set (numeric: {sorted(numeric_features)})"
            )
        names = tuple(sorted(data.numeric))
        means, stds = [], []
        for name in names:
            observed = data.numeric[name][data.valid & ~np.isnan(data.numeric[name])]
            means.append(float(observed.mean()) if observed.size else 0.0)
            # A constant or empty feature gets std 1 so normalising never divides by zero.
            std = float(observed.std()) if observed.size else 0.0
            stds.append(std if std > 1e-12 else 1.0)
        vocabularies = {
            name: tuple(sorted({v for v in values[data.valid].tolist() if v is not None}))
            for name, values in sorted(data.categorical.items())
        }
        return cls(names, tuple(means), tuple(stds), vocabularies, outputs)

    @property
    def vocabulary_sizes(self) -> list[int]:
        """Embedding table sizes: padding/missing, out-of-vocabulary, then the known values."""
        return [FIRST_VALUE + len(values) for values in self.vocabularies.values()]

    def encode(self, data: TrainingSetData) -> EncodedBatch:
        self._check_kinds(data)
        rows, history = data.valid.shape
        numeric = np.full((rows, history, len(self.numeric_names)), np.nan, dtype=np.float32)
        for index, name in enumerate(self.numeric_names):
            if name in data.numeric:  # a feature absent from a later window is all missing
                numeric[:, :, index] = data.numeric[name]
        for output in self.outputs:
            if isinstance(output, RegressionOutput):  # the target itself is not an input
                numeric[:, -1, self.numeric_names.index(output.feature)] = np.nan
        categorical = np.zeros((rows, history, len(self.vocabularies)), dtype=np.int64)
        for index, (name, values) in enumerate(self.vocabularies.items()):
            if name in data.categorical:
                categorical[:, :, index] = _codes(data.categorical[name], values)
        hours = np.where(data.valid, data.age_seconds, 0.0) / 3600.0
        return EncodedBatch(
            numeric=torch.from_numpy(numeric),
            categorical=torch.from_numpy(categorical),
            log_age=torch.from_numpy(np.log1p(hours).astype(np.float32)),
            padding=torch.from_numpy(~data.valid),
            targets=torch.from_numpy(self._targets(data)),
        )

    def output_scales(self) -> list[float]:
        """Each output's normalisation std (1 for a classification): a normalised error
        times this is an error in the feature's units."""
        return [
            1.0
            if isinstance(output, ClassificationOutput)
            else self.numeric_std[self.numeric_names.index(output.feature)]
            for output in self.outputs
        ]

    def _targets(self, data: TrainingSetData) -> npt.NDArray[np.float32]:
        columns = []
        for output in self.outputs:
            if isinstance(output, ClassificationOutput):
                columns.append(data.label.astype(np.float64))
                continue
            if isinstance(output, ForecastOutput):
                raw = forecast_targets(data, output.feature, output.horizon_seconds)
            else:
                raw = regression_targets(data, output.feature)
            index = self.numeric_names.index(output.feature)
            columns.append((raw - self.numeric_mean[index]) / self.numeric_std[index])
        return np.stack(columns, axis=1).astype(np.float32)

    def _check_kinds(self, data: TrainingSetData) -> None:
        wrong = [n for n in self.numeric_names if data.schema.get(n, "numeric") != "numeric"]
        wrong += [
            n for n in self.vocabularies if data.schema.get(n, "categorical") != "categorical"
        ]
        if wrong:
            raise ValueError(f"features {sorted(wrong)} changed kind since the model was trained")

    def to_json(self) -> dict[str, Any]:
        return {
            "numeric": {
                name: {"mean": mean, "std": std}
                for name, mean, std in zip(
                    self.numeric_names, self.numeric_mean, self.numeric_std, strict=True
                )
            },
            "vocabularies": {name: list(values) for name, values in self.vocabularies.items()},
            "outputs": outputs_to_json(self.outputs),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> "FeatureEncoder":
        numeric: dict[str, dict[str, float]] = document["numeric"]
        return cls(
            numeric_names=tuple(numeric),
            numeric_mean=tuple(float(stats["mean"]) for stats in numeric.values()),
            numeric_std=tuple(float(stats["std"]) for stats in numeric.values()),
            vocabularies={name: tuple(v) for name, v in document["vocabularies"].items()},
            # Encoders saved before outputs could be chosen had the one classification.
            outputs=outputs_from_json(document.get("outputs", outputs_to_json(DEFAULT_OUTPUTS))),
        )


def _codes(values: np.ndarray[Any, Any], vocabulary: tuple[str, ...]) -> np.ndarray[Any, Any]:
    lookup = {value: FIRST_VALUE + index for index, value in enumerate(vocabulary)}
    flat = [
        PAD_OR_MISSING if value is None else lookup.get(value, OUT_OF_VOCABULARY)
        for value in values.ravel().tolist()
    ]
    return np.asarray(flat, dtype=np.int64).reshape(values.shape)
