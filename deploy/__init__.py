"""Deployment (internal): a SAM template, least-privilege roles and a reproducible Lambda package, generated from the model."""
