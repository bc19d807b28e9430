"""AWS adapters (internal): every boto3 client, the join and fan-out lookups, DynamoDB's clock, stream reading, table creation."""
