"""Training-loop plugins for incremental updates, one algorithm per file, found through the
explicit registry below by their config's `type`."""

from collections.abc import Sequence

from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.plugins.base import PluginConfig, TrainingPlugin
from trainplat.learning.plugins.distillation import DistillationConfig, DistillationPlugin
from trainplat.learning.plugins.ewc import EwcConfig, EwcPlugin
from trainplat.learning.plugins.replay import ReplayConfig, ReplayPlugin

AnyPluginConfig = DistillationConfig | ReplayConfig | EwcConfig
PLUGIN_TYPES: dict[str, type[PluginConfig]] = {
    "lwf": DistillationConfig,
    "replay": ReplayConfig,
    "ewc": EwcConfig,
}


def build_plugin(config: AnyPluginConfig, *, earlier: Sequence[EncodedBatch]) -> TrainingPlugin:
    """The plugin for `config`; `earlier` are the encoded earlier windows (replay, EWC)."""
    if isinstance(config, DistillationConfig):
        return DistillationPlugin(config=config)
    if isinstance(config, ReplayConfig):
        return ReplayPlugin(config=config, earlier=earlier)
    return EwcPlugin(config=config, earlier=earlier)


__all__ = [
    "PLUGIN_TYPES",
    "AnyPluginConfig",
    "DistillationConfig",
    "EwcConfig",
    "PluginConfig",
    "ReplayConfig",
    "TrainingPlugin",
    "build_plugin",
]
