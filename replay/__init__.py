"""Replay: the same fold from another source (table scans, exports).

Scan rows become source records with origin ``scan`` and the version
``(declared, T_start - 1 s, 0)``, then go through the same translators, fold
and store contract as stream records (see ARCHITECTURE.md).
"""
