# %% [markdown]
# # 1 · Getting started: a wallet, a token, a first chat and what it cost
#
# BitRouter is a gateway for AI agents: one OpenAI-compatible endpoint in front of 200+ models
# and their providers, MCP tools and ACP agents, behind a token your own wallet signs and
# spending caps an agent cannot exceed.
#
# This notebook runs a real gateway inside this kernel, **offline**: every model is answered by
# the built-in *provider simulator* (deterministic fake replies, labelled `[simulated …]`), and
# on-chain steps use an embedded chain. Nothing leaves your machine and nothing costs money.

# %%
from gateway import Gateway

gw = Gateway(simulator=True).start()
gw

# %% [markdown]
# `Gateway` started the real server in a background thread with its own event loop, on a free
# port, with a temporary home folder (removed when you call `gw.stop()`). Everything below goes
# through the same HTTP API an agent would call.
#
# ## Your wallet is your identity
#
# The home holds a **master key**: one 32-byte seed that gives a Solana address and an EVM
# address. `Gateway` created one for this temporary home; with your own home you would run
# `bitrouter account --generate-key` once (and `bitrouter account` shows the addresses).

# %%
from gateway.identity import Keystore

master = Keystore(gw.home).master()
print("Solana:", master.solana_address)
print("EVM:   ", master.evm_address)

# %% [markdown]
# ## On-chain: a wallet and an agent's spending authority
#
# To let an agent spend, the master key creates an on-chain wallet holding USDC and grants the
# agent's own key a **spending authority**: at most a per-transaction cap per payment, at most
# a cumulative cap in total, nothing after an expiry. The chain enforces it, not the gateway.
# Here the chain is embedded (it runs on this machine) and the USDC is test money; amounts are
# micro-USD (µUSD), so `1000000` is one dollar. These are the `bitrouter swig` commands, run
# against this notebook's home.
#
# *This cell first checks that this build ships the on-chain commands; without them it skips
# the on-chain part, and the rest of the notebook uses the master key.*

# %%
import importlib.util
import os
import subprocess
import sys
import time


def bitrouter(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the `bitrouter` command against this notebook's gateway and home."""
    env = {**os.environ, "BITROUTER_HOME": str(gw.home), "BITROUTER_URL": gw.url}
    command = [sys.executable, "-m", "gateway.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


AGENT = "notebook-agent"
onchain = importlib.util.find_spec("gateway.onchain") is not None
if onchain:
    for step in (
        ("swig", "create-wallet"),
        ("swig", "fund", "--amount", "5000000"),
        ("swig", "derive-agent", "--label", AGENT, "--per-tx-cap", "100000",
         "--cumulative-cap", "1000000", "--expires-at", str(int(time.time()) + 86400)),
    ):
        done = bitrouter(*step)
        print(f"$ bitrouter {' '.join(step)}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            onchain = False
            break
if not onchain:
    AGENT = None
    print("On-chain commands are not available in this build: continuing with the master key.")

# %% [markdown]
# ## A token, signed by your own key
#
# Nobody issues BitRouter tokens: your wallet key signs them (a JWT), and the gateway checks the
# signature against the address inside. A token can narrow what it allows: a lifetime, the
# models it may call, a budget in µUSD. Signed by the agent's key, it spends under the agent's
# authority.

# %%
from gateway.identity import read_unverified

token = gw.token(agent=AGENT, ttl_seconds=3600, models=["moonshotai/*", "openai/*"])
algorithm, claims = read_unverified(token)
print("algorithm:", algorithm)
claims

# %% [markdown]
# `gw.client()` gives an `agents.Client` for this gateway. Given no token it signs fresh ones
# itself; here we hand it the one we just made. (Outside a notebook:
# `Client("http://127.0.0.1:8787", token=...)`, or any OpenAI client with the token as its API
# key.)

# %%
client = gw.client(token=token)
MODEL = "moonshotai:kimi-k2.5"
reply = client.chat(MODEL, "Hello! In one sentence, what are you?", max_tokens=60)
reply

# %%
print(
    f"{reply.provider} answered with {reply.usage.completion_tokens} tokens "
    f"for {reply.cost_micro_usd} µUSD"
)

# %% [markdown]
# ## Where the cost comes from
#
# The router chose the provider (the next notebook is about why). The cost is the tokens times
# that provider's unit prices — quoted in µUSD per million tokens — rounded **up** to a whole
# µUSD, so you are never undercharged by rounding and never charged a fraction:

# %%
prices = {c.provider: c.prices for c in client.route(MODEL).candidates}[reply.provider]
usage = reply.usage
exact = usage.prompt_tokens * prices["input"] + usage.completion_tokens * prices["output"]
by_hand = -(-exact // 1_000_000)  # ceiling division
print(f"cost by hand: {by_hand} µUSD, charged: {reply.cost_micro_usd} µUSD")
assert by_hand == reply.cost_micro_usd

# %% [markdown]
# ## Streaming
#
# With `stream=True` the reply arrives as it is written; the cost is known at the end.

# %%
stream = client.chat(MODEL, "Count to five, slowly.", max_tokens=40, stream=True)
for delta in stream:
    print(delta, end="", flush=True)
print(f"\n→ {stream.cost_micro_usd} µUSD, from {stream.provider}")

# %% [markdown]
# The async client does the same with `await` (a notebook allows `await` at the top level):

# %%
async with gw.async_client(token=token) as aclient:
    areply = await aclient.chat(MODEL, "And in async?", max_tokens=30)
areply.text

# %% [markdown]
# ## What you spent
#
# The gateway keeps a ledger of every call. `balance()` shows what this token's identity spent
# and may still spend; `usage()` lists the calls.

# %%
client.balance()

# %%
client.usage()

# %%
gw.stop()
print("gateway home:", gw.home)  # removed, with every process it started
