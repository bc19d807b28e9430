"""Real servers for the tests, fetched from Maven Central: an OpenSearch node and DynamoDB Local.

``python -m tests.servers.opensearch_node fetch|start|stop|status`` and
``python -m tests.servers.dynamodb_local fetch|start|stop|status``; the
pytest fixtures in ``tests.servers.fixtures`` start them once per session.
"""
