"""The gateway: upstream connections, routing and aggregation, client sessions, the chain runner."""
