"""Byte movers: listeners for clients and connections to upstreams. No policy here."""
