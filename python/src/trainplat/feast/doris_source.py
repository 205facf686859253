"""`DorisSource`: a Feast data source that is a table on the Doris (MySQL-protocol) server
of the `DorisOfflineStore`, one column per feature plus join keys and a DATETIME event time.

Only a table name is accepted, never a query: the name reaches SQL text, so it passes the
identifier allow-list (ASCII letters, digits, '_'), and it is quoted on top of that. Stored
in the registry as a Feast custom source (class path + JSON options)."""

import json
from collections.abc import Callable

from feast.data_source import DataSource
from feast.protos.feast.core.DataSource_pb2 import DataSource as DataSourceProto
from feast.repo_config import RepoConfig
from feast.value_type import ValueType

from trainplat.doris.keys import validate_feature_key

SOURCE_CLASS = "trainplat.feast.doris_source.DorisSource"


def _no_inference(server_type: str) -> ValueType:
    raise ValueError(
        f"DorisSource does not infer feature types (column type {server_type!r}): "
        "give the feature view an explicit schema"
    )


class DorisSource(DataSource):
    def __init__(
        self,
        *,
        table: str,
        timestamp_field: str,
        name: str | None = None,
        field_mapping: dict[str, str] | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
        owner: str = "",
    ) -> None:
        self.table = validate_feature_key(table)
        super().__init__(
            name=name or table,
            timestamp_field=validate_feature_key(timestamp_field),
            field_mapping=field_mapping,
            description=description,
            tags=tags,
            owner=owner,
        )

    def _identity(self) -> tuple[object, ...]:
        """What the registry compares to tell whether a re-apply changed the source."""
        return (
            self.name,
            self.table,
            self.timestamp_field,
            sorted(self.field_mapping.items()),
            self.description,
            sorted(self.tags.items()),
            self.owner,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DorisSource) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((self.name, self.table, self.timestamp_field))

    def source_type(self) -> DataSourceProto.SourceType.ValueType:
        return DataSourceProto.CUSTOM_SOURCE

    @staticmethod
    def from_proto(data_source: DataSourceProto) -> "DorisSource":
        options = json.loads(data_source.custom_options.configuration)
        return DorisSource(
            name=data_source.name,
            table=options["table"],
            timestamp_field=data_source.timestamp_field,
            field_mapping=dict(data_source.field_mapping),
            description=data_source.description,
            tags=dict(data_source.tags),
            owner=data_source.owner,
        )

    def _to_proto_impl(self) -> DataSourceProto:
        proto = DataSourceProto(
            name=self.name,
            type=DataSourceProto.CUSTOM_SOURCE,
            data_source_class_type=SOURCE_CLASS,
            field_mapping=self.field_mapping,
            custom_options=DataSourceProto.CustomSourceOptions(
                configuration=json.dumps({"table": self.table}).encode()
            ),
            description=self.description,
            tags=self.tags,
            owner=self.owner,
        )
        proto.timestamp_field = self.timestamp_field
        return proto

    def validate(self, config: RepoConfig) -> None:
        """Names were checked on construction; the table is only reached at query time."""

    @staticmethod
    def source_datatype_to_feast_value_type() -> Callable[[str], ValueType]:
        return _no_inference

    def get_table_query_string(self) -> str:
        return f"`{self.table}`"
