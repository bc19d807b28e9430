"""The pure core (internal): declarations, source items and versions, domain events, translation, the fold.

Nothing here performs I/O or imports boto3 or opensearch-py. Model authors
import the public names from ``dynafold`` and ``dynafold.kinds``.
"""
