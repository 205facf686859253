"""Storage from the data plane: mounts a task can reach and moves between storage tiers."""
