"""``opensearch+https://host:port`` (internal): aggregate documents in OpenSearch indices, read through an alias."""
