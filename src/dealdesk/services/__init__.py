"""Use cases. Each one is a single transaction in a unit of work; adapters call nothing else."""
