"""``sqlite:///path.db`` (internal): the embedded default's documents, quarantine and checkpoints in one file."""
