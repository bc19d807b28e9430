"""The imperative shell of dynafold: decoding stream records, stores, the
batch projector, the Lambda handler, the stream poller and the CLI."""

from projector import log_guard

log_guard.install()
