"""A small MCP server over stdio for the client tests: one tool, ``search``, over two notes."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("notes", log_level="WARNING")
NOTES = {
    "invoices": "Invoices go out on the 1st.",
    "travel": "Book the Lisbon trip before May.",
}


@server.tool()
def search(query: str) -> str:
    """Search the notes for a word."""
    found = [text for topic, text in NOTES.items() if query.lower() in (topic + text).lower()]
    return "\n".join(found) or f"no note mentions {query!r}"


if __name__ == "__main__":
    server.run("stdio")
