"""Deterministic synthetic feature snapshots (see `trainplat.synthetic.world` for the drift
model). Everything is drawn from one seeded generator with vectorised numpy, so the same
configuration always yields the same rows, fast."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from trainplat.doris.schema import SnapshotRow, encode_times_us
from trainplat.synthetic.world import NOISE_SD, FloatArray, HiddenWorld, IntArray

LABEL_KEY = "label"
MIN_FEATURES = 10
MAX_FEATURES = 50
# An entity sticks to its preferred category this often; otherwise it draws any available one.
PREFERRED_CATEGORY_RATE = 0.6
MEAN_INGEST_DELAY_S = 30.0


@dataclass(frozen=True)
class SyntheticConfig:
    start: datetime
    end: datetime
    entities: int = 1000
    features: int = 20
    seed: int = 0
    drift: float = 0.0
    # 0: the world drifts linearly over the range. n > 0: the range is cut into n equal
    # phases that alternate between the start world and the end world (recurring drift).
    recurring: int = 0
    snapshots_per_entity: float = 50.0
    nodes: int = 16
    tag_fraction: float = 0.2
    missing_fraction: float = 0.05
    categorical_share: float = 0.3

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a timezone")
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if not MIN_FEATURES <= self.features <= MAX_FEATURES:
            raise ValueError(f"features must be in [{MIN_FEATURES}, {MAX_FEATURES}]")
        if not 0.0 <= self.drift <= 1.0:
            raise ValueError("drift must be in [0, 1]")
        if self.recurring < 0:
            raise ValueError("recurring must be 0 (linear drift) or a number of phases")
        if self.entities < 1 or self.nodes < 1 or self.snapshots_per_entity <= 0:
            raise ValueError("entities, nodes and snapshots_per_entity must be positive")
        for name in ("tag_fraction", "missing_fraction", "categorical_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")


@dataclass(frozen=True)
class SyntheticSnapshots:
    """Rows ordered by (entity, time). Missing numeric values are NaN, missing categories -1."""

    entity_uuids: list[str]
    entity: IntArray  # [rows] index into entity_uuids
    node_id: IntArray
    time_us: IntArray  # UTC epoch microseconds
    created_us: IntArray
    tau: FloatArray  # position in the time range, [0, 1)
    numeric_names: list[str]
    numeric: FloatArray  # [rows, n_numeric], in feature units
    z: FloatArray  # [rows, n_numeric], the standardised values the rule reads
    categorical_names: list[str]
    categorical: IntArray  # [rows, n_categorical]
    is_tag: npt.NDArray[np.bool_]
    label: IntArray  # 0/1 for every row; stored only on tagged rows

    @property
    def rows(self) -> int:
        return int(self.entity.size)

    def snapshot_rows(self) -> Iterator[SnapshotRow]:
        times = encode_times_us(self.time_us)
        created = encode_times_us(self.created_us)
        numeric = np.round(self.numeric, 4).tolist()
        categorical = self.categorical.tolist()
        for row in range(self.rows):
            features: dict[str, float | int | str] = {
                name: value
                for name, value in zip(self.numeric_names, numeric[row], strict=True)
                if value == value  # NaN != NaN: a missing value is left out of the map
            }
            for name, code in zip(self.categorical_names, categorical[row], strict=True):
                if code >= 0:
                    features[name] = f"v{code}"
            if self.is_tag[row]:
                features[LABEL_KEY] = int(self.label[row])
            yield SnapshotRow(
                uuid=self.entity_uuids[self.entity[row]],
                node_id=str(self.node_id[row]),
                time=times[row],
                features=json.dumps(features, separators=(",", ":")),
                is_tag=bool(self.is_tag[row]),
                created_at=created[row],
            )


def generate(config: SyntheticConfig) -> SyntheticSnapshots:
    rng = np.random.default_rng(config.seed)
    n_categorical = round(config.features * config.categorical_share)
    n_numeric = config.features - n_categorical
    world = HiddenWorld.draw(rng, n_numeric, n_categorical)

    entity, tau = _arrivals(rng, config)
    rows = entity.size
    span_us = _micros(config.end) - _micros(config.start)
    time_us = _micros(config.start) + np.floor(tau * span_us).astype(np.int64)
    delay_us = rng.exponential(MEAN_INGEST_DELAY_S * 1e6, size=rows).astype(np.int64)
    alpha = config.drift * (np.floor(tau * config.recurring) % 2 if config.recurring else tau)

    base = rng.normal(size=(config.entities, n_numeric))
    z = base[entity] + rng.normal(0.0, NOISE_SD, size=(rows, n_numeric))
    z += alpha[:, None] * world.numeric_shift[None, :]
    categorical = _categories(rng, config, world, entity, alpha)
    label = (rng.random(rows) < world.label_probability(z, categorical, alpha)).astype(np.int64)

    numeric = world.numeric_mean[None, :] + world.numeric_scale[None, :] * z
    numeric[rng.random(numeric.shape) < config.missing_fraction] = np.nan
    categorical = np.where(rng.random(categorical.shape) < config.missing_fraction, -1, categorical)
    node_of_entity = rng.integers(1, config.nodes + 1, size=config.entities)
    return SyntheticSnapshots(
        entity_uuids=[
            str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(config.entities)
        ],
        entity=entity,
        node_id=node_of_entity[entity],
        time_us=time_us,
        created_us=time_us + delay_us,
        tau=tau,
        numeric_names=[f"num_{index:02d}" for index in range(n_numeric)],
        numeric=numeric,
        z=z,
        categorical_names=[f"cat_{index:02d}" for index in range(n_categorical)],
        categorical=categorical,
        is_tag=rng.random(rows) < config.tag_fraction,
        label=label,
    )


def _arrivals(rng: np.random.Generator, config: SyntheticConfig) -> tuple[IntArray, FloatArray]:
    """Per entity a Poisson process of snapshots with its own rate (log-normal activity).
    A Poisson count with uniformly placed, sorted times is exactly a process with exponential
    inter-arrival times, and vectorises."""
    activity = np.exp(rng.normal(-0.125, 0.5, size=config.entities))  # mean 1
    counts = rng.poisson(config.snapshots_per_entity * activity)
    entity = np.repeat(np.arange(config.entities, dtype=np.int64), counts)
    tau = rng.random(entity.size)
    order = np.lexsort((tau, entity))
    return entity[order], tau[order]


def _categories(
    rng: np.random.Generator,
    config: SyntheticConfig,
    world: HiddenWorld,
    entity: IntArray,
    alpha: FloatArray,
) -> IntArray:
    n_categorical = world.vocab.size
    preferred = rng.integers(0, world.vocab[None, :], size=(config.entities, n_categorical))
    # Values available at each row: the base vocabulary plus the drifted-in new ones.
    available = world.vocab[None, :] + np.floor(alpha[:, None] * world.extra[None, :])
    drawn = np.floor(rng.random((entity.size, n_categorical)) * available).astype(np.int64)
    keep = rng.random((entity.size, n_categorical)) < PREFERRED_CATEGORY_RATE
    codes: IntArray = np.where(keep, preferred[entity], drawn)
    return codes


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)
