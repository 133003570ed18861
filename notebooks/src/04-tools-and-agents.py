# %% [markdown]
# # 4 · Tools and agents, and where the money went
#
# Besides models, the gateway serves **MCP tools** (from the MCP servers it is configured
# with, each tool priced per call) at `/mcp`, and hosts **ACP agents** (programs that work
# with a model and tools on your behalf) at `/acp`. Both sit behind the same token and the same
# spending limits as model calls, and every cent lands in one ledger.
#
# We configure one small MCP server — a notes search, written below — and one agent, the
# assistant that ships with BitRouter (`python -m agents.assistant`). Offline, as before: the
# assistant's model is the provider simulator.

# %%
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from gateway import Gateway

NOTES_SERVER = '''
from mcp.server.mcpserver import MCPServer

server = MCPServer("notes", log_level="WARNING")
NOTES = {
    "invoices": "Invoices go out on the 1st; ACME pays late, nudge them on the 10th.",
    "travel": "Book the Lisbon trip before May; the conference is on the 14th.",
}


@server.tool()
def search(query: str) -> str:
    """Search my notes for a word."""
    found = [text for topic, text in NOTES.items() if query.lower() in (topic + text).lower()]
    return "\\n".join(found) or f"no note mentions {query!r}"


if __name__ == "__main__":
    server.run("stdio")
'''
workdir = Path(tempfile.mkdtemp(prefix="bitrouter-notebook-"))
(workdir / "notes_server.py").write_text(NOTES_SERVER)

config = {
    "mcp_servers": [
        {
            "name": "notes",
            "command": sys.executable,
            "args": [str(workdir / "notes_server.py")],
            "default_price": 200,  # µUSD per call
        }
    ],
    "acp_agents": [
        {
            "name": "assistant",
            "command": sys.executable,
            "args": ["-m", "agents.assistant"],
            "description": "A tool-using assistant",
            "price_per_turn": 1000,  # µUSD per prompt turn
            "env": {"BITROUTER_AGENT_MODEL": "moonshotai:kimi-k2.5"},
        }
    ],
}
gw = Gateway(simulator=True, config=config).start()
client = gw.client()
gw

# %% [markdown]
# ## MCP tools
#
# `tools()` lists what your token may call, with prices. Upstream tools are namespaced by
# their server (`notes__search`); the gateway adds its own (`chat`, `quote`, `list_models`,
# `balance`). The notes server is a process of its own that the gateway started: on a busy
# machine it may take a few seconds to connect, so we wait for its tool to appear.

# %%
import time

deadline = time.monotonic() + 60
while "notes__search" not in client.tools().names and time.monotonic() < deadline:
    time.sleep(0.5)
client.tools()

# %%
found = client.call_tool("notes__search", {"query": "invoice"})
found

# %%
print(f"tool answered {found.text!r} for {found.cost_micro_usd} µUSD")
assert found.cost_micro_usd == 200

# %% [markdown]
# Any MCP client works the same way: point it at `{gateway}/mcp` with your token as a bearer
# token (`call_tool` above uses the official MCP SDK).
#
# ## ACP agents
#
# `agents()` lists the hosted agents. `prompt_agent()` opens a session with one over ACP's
# HTTP transport and sends a prompt; the agent runs on the gateway's host, calls its model and
# the tools through this same gateway with a token scoped to you — so its spending is yours,
# under your limits, and it sees only the tools your token allows. When it asks permission to
# use a tool, the client answers (by default: allow once).

# %%
client.agents()

# %% [markdown]
# We give this turn a token that allows only the notes tools. The simulated model behind the
# assistant calls the first tool it is offered, with arguments made up from the tool's schema
# (a real model would search for "invoice"), then answers by quoting the result.

# %%
notes_only = gw.client(token=gw.token(tools=["notes__*"]))
turn = notes_only.prompt_agent("assistant", "Find my notes about invoices; what do they say?")
turn

# %%
print(f"agent turn: stop={turn.stop_reason}, tool calls={len(turn.tool_calls)}, "
      f"turn price={turn.cost_micro_usd} µUSD")
assert turn.stop_reason == "end_turn"

# %% [markdown]
# ## Where the money went
#
# Every model call, tool call and agent turn is one line of your usage, whoever made it —
# you directly, or the agent on your behalf.

# %%
usage = client.usage().to_pandas()
usage[["kind", "subject", "provider", "cost_micro_usd", "outcome"]]

# %%
by_subject = usage.groupby(["kind", "subject"])["cost_micro_usd"].sum().sort_values()
ax = by_subject.plot.barh(figsize=(7, 2.8), color="#4c78a8", title="spend by what was used (µUSD)")
ax.set_ylabel("")
plt.show()

# %% [markdown]
# The gateway adds it up too, by model, provider, day or kind:

# %%
summary = client.usage_summary("kind")
for group in summary:
    print(f"{group.key}: {group.cost_micro_usd} µUSD in {group.requests} requests")
summary

# %%
gw.stop()
