"""Feast integration: generated feature repos over snapshot Parquet, a custom offline store
whose point-in-time join is a DuckDB ASOF JOIN (and the SQL seam for running it inside
Doris), and the `feast.training_set` task program."""
