"""`flask seed-bulk`: a large database of realistic shape, for benchmarks and load runs."""
