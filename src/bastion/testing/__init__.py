"""Helpers shared by the tests and by users writing guards: gateway processes, message factories."""
