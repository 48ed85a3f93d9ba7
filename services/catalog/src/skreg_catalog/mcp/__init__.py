"""Skills over MCP: the catalog's read surface for MCP clients, at `/mcp`.

- `uris`: the `skill://` resource URIs (latest and exact-version forms), parsed strictly;
- `reads`: what the MCP handlers read, through the catalog's own read paths and caches;
- `tools`: the tools (search, a skill's instructions and files, one file);
- `server`: the MCP server (official SDK, low-level `Server`) with the skills extension;
- `mount`: the streamable HTTP endpoint mounted into the Litestar app, and its lifespan.
"""
