"""Feature-view versions: a sha256 over the canonical JSON of what defines a view (name,
entities, TTL, fields and types, timestamp field), never of where its data lies today, so
the same definition over a new extract keeps its version."""

from feast.feature_view import FeatureView

from trainplat.datasets.version import canonical_json, sha256_hex

DEFINITION_FORMAT = "trainplat.feast.feature_view/v1"
VERSION_TAG = "trainplat.definition_hash"


def canonical_definition(view: FeatureView) -> dict[str, object]:
    if view.batch_source is None:
        raise ValueError(f"feature view {view.name!r} has no batch source")
    return {
        "format": DEFINITION_FORMAT,
        "name": view.name,
        "entities": sorted(view.entities),
        "join_keys": sorted(column.name for column in view.entity_columns),
        "ttl_seconds": view.ttl.total_seconds() if view.ttl else 0,
        "features": [[field.name, str(field.dtype)] for field in view.features],
        "timestamp_field": view.batch_source.timestamp_field,
    }


def definition_hash(view: FeatureView) -> str:
    return sha256_hex(canonical_json(canonical_definition(view)))
