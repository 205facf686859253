"""Feature-snapshot sources ("Doris"): the embedded SQLite file, MariaDB and Apache Doris
over the MySQL protocol; task programs `doris.extract` and `doris.test_connection`."""

from trainplat.doris.keys import validate_feature_key

__all__ = ["validate_feature_key"]
