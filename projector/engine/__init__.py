"""The engine (internal): one batch of records folded into documents and written under optimistic concurrency."""
