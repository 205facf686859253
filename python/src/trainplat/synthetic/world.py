"""The hidden world behind the synthetic snapshots: feature distributions, the label rule and
how both drift over time.

Drift model. Let tau in [0, 1) be a snapshot's position in the generated time range
(0 at `start`, 1 at `end`) and alpha = drift * tau, with drift in [0, 1]. With
`recurring` = n > 0 the drift is abrupt and recurring instead: the range is cut into n
equal phases and alpha = drift * (phase mod 2), so the world jumps between its start
(alpha = 0) and its end (alpha = drift) at every phase boundary, as seasonal regimes do.

* Numeric feature k of entity e at a snapshot has the standardised value
  z = base[e, k] + noise + alpha * shift[k], base ~ N(0, 1), noise ~ N(0, NOISE_SD),
  shift ~ N(0, 1): every feature's mean moves linearly in time. The stored value is
  mean[k] + scale[k] * z, so features come in very different units.
* Categorical feature c has `vocab[c]` values at tau = 0; alpha * `extra[c]` more values
  become available linearly over time (values a model trained early has never seen).
  An entity mostly keeps its preferred value.
* The label rule is logistic: P(label = 1) = sigmoid(SHARPNESS * (w(alpha) . z + effect of
  the categorical values)) with w(alpha) = (1 - alpha) * w_a + alpha * w_b, where w_a and
  w_b are independent sparse weight vectors. With drift = 0 the rule never changes; with
  drift = 1 the rule at the end of the range is w_b alone, unrelated to the one at start.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NOISE_SD = 0.6
SHARPNESS = 2.0
# The rule reads only a few features, as real labels do; the others are distractors.
INFORMATIVE_NUMERIC = 6
INFORMATIVE_CATEGORICAL = 2


@dataclass(frozen=True)
class HiddenWorld:
    numeric_mean: FloatArray  # [n_numeric]
    numeric_scale: FloatArray  # [n_numeric]
    numeric_shift: FloatArray  # [n_numeric]
    weights_start: FloatArray  # w_a, [n_numeric]
    weights_end: FloatArray  # w_b, [n_numeric]
    vocab: IntArray  # [n_categorical] values available at tau = 0
    extra: IntArray  # [n_categorical] values added by the end when drift = 1
    category_effect: FloatArray  # [n_categorical, max(vocab + extra)]

    @classmethod
    def draw(cls, rng: np.random.Generator, n_numeric: int, n_categorical: int) -> "HiddenWorld":
        vocab = rng.integers(3, 11, size=n_categorical)
        extra = np.ceil(vocab / 2).astype(np.int64)
        effect = rng.normal(0.0, 0.8, size=(n_categorical, int((vocab + extra).max(initial=1))))
        effect[INFORMATIVE_CATEGORICAL:] = 0.0
        return cls(
            numeric_mean=rng.normal(0.0, 3.0, size=n_numeric)
            * 10.0 ** rng.integers(0, 4, n_numeric),
            numeric_scale=np.exp(rng.normal(0.0, 1.5, size=n_numeric)),
            numeric_shift=rng.normal(0.0, 1.0, size=n_numeric),
            weights_start=_sparse_weights(rng, n_numeric),
            weights_end=_sparse_weights(rng, n_numeric),
            vocab=vocab,
            extra=extra,
            category_effect=effect,
        )

    def weights_at(self, alpha: FloatArray) -> FloatArray:
        """w(alpha) per row: [rows, n_numeric]."""
        mix = alpha[:, None]
        return (1.0 - mix) * self.weights_start[None, :] + mix * self.weights_end[None, :]

    def label_probability(
        self, z: FloatArray, categories: IntArray, alpha: FloatArray
    ) -> FloatArray:
        """z: standardised numeric values [rows, n_numeric]; categories: codes [rows, n_cat]."""
        logit = (self.weights_at(alpha) * z).sum(axis=1)
        columns = np.arange(categories.shape[1])[None, :]
        logit += self.category_effect[columns, categories].sum(axis=1)
        probability: FloatArray = 1.0 / (1.0 + np.exp(-SHARPNESS * logit))
        return probability


def _sparse_weights(rng: np.random.Generator, n_numeric: int) -> FloatArray:
    weights = np.zeros(n_numeric)
    chosen = rng.choice(n_numeric, size=min(INFORMATIVE_NUMERIC, n_numeric), replace=False)
    weights[chosen] = rng.normal(0.0, 1.0, size=chosen.size)
    # Unit norm keeps the label's signal-to-noise ratio the same at every alpha endpoint.
    norm = float(np.linalg.norm(weights))
    return weights / norm if norm > 0 else weights
