"""Decision log, metrics and tracing."""
