"""`bastion scan`: find configured MCP servers, enumerate them, report what is wrong with them."""
