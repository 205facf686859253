"""Training sets: point-in-time-correct labelled windows, versioned by content hash."""
