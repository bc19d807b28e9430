"""Observability (internal): JSON log lines, the libraries' logs kept free of item contents, EMF metrics."""
