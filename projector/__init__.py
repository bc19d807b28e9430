"""The imperative shell (internal): stream and scan records in, documents written, poison kept.

``intake`` decodes records; ``engine`` folds and writes them; ``stores`` keep
documents (and the quarantine and checkpoints) per technology behind the
ports in ``stores.base`` and ``control``; ``aws`` holds every boto3 adapter;
``observability`` the logs and metrics. ``config`` reads every setting,
``runtime`` wires a running dynafold from them, ``errors`` names every
failure with its exit code, ``retry`` is the one backoff.
"""
