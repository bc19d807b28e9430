"""Control state (internal): the quarantine of poison records and the checkpoints of readers, as ports with in-memory implementations."""
