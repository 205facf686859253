"""A bounded, uniform sample of a stream of unknown length: reservoir sampling
(Vitter's algorithm R). After n offers every item is held with probability
min(1, capacity / n), whatever the order in which the items came."""

import numpy as np
import numpy.typing as npt


class ReservoirBuffer:
    """Holds up to `capacity` item ids (ints) from the stream `offer` feeds it."""

    def __init__(self, *, capacity: int, seed: int = 0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._rng = np.random.default_rng(seed)
        self._items = np.empty(capacity, dtype=np.int64)
        self._seen = 0

    @property
    def seen(self) -> int:
        return self._seen

    @property
    def items(self) -> npt.NDArray[np.int64]:
        """The held ids (a copy), at most `capacity` of them."""
        return self._items[: min(self._seen, self.capacity)].copy()

    def offer(self, ids: npt.NDArray[np.int64]) -> None:
        """Offers each id in order (vectorised; the same result as offering one by one)."""
        ids = np.asarray(ids, dtype=np.int64)
        fill = max(0, min(self.capacity - self._seen, ids.size))
        self._items[self._seen : self._seen + fill] = ids[:fill]
        rest = ids[fill:]
        # The i-th item of the stream (0-based, i >= capacity) replaces slot j ~ U{0..i}
        # when j < capacity.
        positions = self._seen + fill + np.arange(rest.size)
        slots = self._rng.integers(0, positions + 1) if rest.size else positions
        taken = slots < self.capacity
        for item, slot in zip(rest[taken].tolist(), slots[taken].tolist(), strict=True):
            self._items[slot] = item
        self._seen += ids.size
