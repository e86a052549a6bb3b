"""AWS implementations of the ports in :mod:`chalicelib.ports` (boto3 clients injected)."""
