"""The online store of a project's feature repo, and online reads through the Feast SDK.

The repo's feature_store.yaml names the embedded SQLite store (`online.db` in the repo). An
`online_store` URL (`redis://host:port/db`, `rediss://` for TLS) replaces it with Redis for
one call: `feast.materialize` and the reads below open the repo with the same choice, and the
yaml, which `feast.training_set` rewrites on every apply, is never changed.

    python -m trainplat.feast.online --repo DIR [--online-store URL]
        [--feature view:name ...] uuid=a [uuid=b ...]

prints `{"uuid": [...], "<feature>": [...]}` as JSON, one position per entity row (null
where the online store has no value). Exit codes: 0 printed, 2 bad arguments."""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feast import FeatureStore
from feast.repo_config import RepoConfig

from trainplat.doris.keys import validate_feature_key
from trainplat.feast.repo import REPO_CONFIG_FILE, feature_refs

DEFAULT_REDIS_PORT = 6379


def redis_online_config(url: str) -> dict[str, object]:
    """Feast's `online_store` section for a Redis URL. Credentials are refused: task
    arguments are stored with the run."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"online_store scheme {parts.scheme!r} is not redis or rediss")
    if not parts.hostname:
        raise ValueError("online_store needs a host")
    if parts.username or parts.password:
        raise ValueError("online_store must not contain credentials")
    database = parts.path.strip("/") or "0"
    if not database.isdigit():
        raise ValueError(f"online_store database {database!r} is not a number")
    options = [f"{parts.hostname}:{parts.port or DEFAULT_REDIS_PORT}", f"db={int(database)}"]
    if parts.scheme == "rediss":
        options.append("ssl=true")
    return {"type": "redis", "connection_string": ",".join(options)}


def open_store(repo_dir: Path, online_store: str | None = None) -> FeatureStore:
    """The repo's FeatureStore; with `online_store`, its online store is that Redis."""
    config_file = repo_dir / REPO_CONFIG_FILE
    if not config_file.is_file():
        raise ValueError(f"no Feast feature repo at {repo_dir} (no {REPO_CONFIG_FILE})")
    raw = json.loads(config_file.read_text())  # written by repo.apply_repo as JSON
    if online_store is not None:
        raw["online_store"] = redis_online_config(online_store)
    config = RepoConfig(**raw)
    config.repo_path = repo_dir
    return FeatureStore(repo_path=str(repo_dir), config=config)


def online_features(
    store: FeatureStore, entity_rows: list[dict[str, Any]], features: list[str] | None = None
) -> dict[str, list[Any]]:
    """Columns of the latest materialised values per entity row (every feature by default)."""
    refs = features if features is not None else feature_refs(store.list_feature_views())
    response = store.get_online_features(features=refs, entity_rows=entity_rows)
    return response.to_dict()


def _entity_row(text: str) -> dict[str, str]:
    """`uuid=a` or `uuid=a,node_id=3` -> {"uuid": "a", ...}."""
    row = {}
    for pair in text.split(","):
        key, separator, value = pair.partition("=")
        if not separator:
            raise argparse.ArgumentTypeError(f"{pair!r} is not key=value")
        row[validate_feature_key(key)] = value
    return row


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m trainplat.feast.online",
        description="Read the latest features of entities from a repo's online store.",
    )
    cli.add_argument("--repo", type=Path, required=True, help="folder with feature_store.yaml")
    cli.add_argument("--online-store", help="redis://host:port/db (default: the repo's SQLite)")
    cli.add_argument("--feature", action="append", help="view:name (repeat; default: all)")
    cli.add_argument("entities", nargs="+", type=_entity_row, help="uuid=a[,node_id=n]")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        store = open_store(args.repo, args.online_store)
    except ValueError as error:
        print(f"trainplat feast online: {error}", file=sys.stderr)
        return 2
    print(json.dumps(online_features(store, args.entities, args.feature)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
