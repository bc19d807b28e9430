"""Intake (internal): DynamoDB's typed JSON, stream records and scan rows become ``SourceRecord`` values."""
