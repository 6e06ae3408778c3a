"""JSON-RPC framing, MCP message helpers, protocol eras and error codes."""
