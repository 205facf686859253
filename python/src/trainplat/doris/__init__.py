"""The embedded "Doris" feature-snapshot source and the `doris.extract` task program."""
