"""Deterministic synthetic feature snapshots with a hidden, drifting label rule."""

from trainplat.synthetic.generator import LABEL_KEY, SyntheticConfig, SyntheticSnapshots, generate

__all__ = ["LABEL_KEY", "SyntheticConfig", "SyntheticSnapshots", "generate"]
