# %% [markdown]
# # 2 · Routing: one model, many providers
#
# The same open model is often served by a dozen providers at different prices and speeds, and
# any of them can fail. BitRouter ranks them for every call, says why, tries the next one when
# one fails, and learns from what it sees.
#
# Offline again: the provider simulator plays every provider, and lets us make one of them
# slow or broken on purpose.

# %%
import httpx
import matplotlib.pyplot as plt

from gateway import Gateway

gw = Gateway(simulator=True).start()
client = gw.client()
MODEL = "moonshotai:kimi-k2.5"

# %% [markdown]
# ## Who offers the model
#
# The catalog lists every provider of a model with its prices (µUSD per million tokens); the
# routable ones are those this gateway can call.

# %%
offers = client.models("kimi-k2.5").to_pandas()
offers[offers.model == "moonshotai/kimi-k2.5"].sort_values("input_price")

# %% [markdown]
# ## The decision and its reasons
#
# `route()` shows what the router would do with a call right now: the candidates in the order
# they would be tried, the expected cost of a typical call at each, their health, and the
# reasons for the order. Providers left out are listed with why.

# %%
decision = client.route(MODEL)
decision

# %% [markdown]
# The expected cost assumes a typical call: a short prompt and a reply of up to
# `expected_output_tokens`. A call like that goes to the first candidate. (A call with another
# prompt or output limit is ranked on its own numbers, so a provider with cheaper input but
# dearer output can win a short one.)

# %%
first, second = decision.candidates[0], decision.candidates[1]
reply = client.chat(MODEL, "Who is answering?", max_tokens=decision.expected_output_tokens)
print(f"routed to {reply.provider}; the router's first choice was {first.provider}")
assert reply.provider == first.provider

# %% [markdown]
# A request can state its own preferences, OpenRouter-style: `order` (try these first),
# `only`, `ignore`, `allow_fallbacks`, and `sort` by `price` or `latency`.

# %%
pinned = client.chat(MODEL, "Who is answering now?", max_tokens=30,
                     provider={"order": [second.provider_id]})
print(f"pinned to {pinned.provider}")
assert pinned.provider == second.provider

# %% [markdown]
# ## Latency
#
# The router measures every provider's time to first token. The simulator can delay its
# answer (the `[[sim:ttft_ms=…]]` marker in a prompt): here, among the five cheapest, the
# cheaper a provider, the slower we make it. Three calls to each, pinned with `only`:

# %%
candidates = decision.candidates[:5]
for rank, candidate in enumerate(candidates):
    delay = 40 * (len(candidates) - rank)
    for _ in range(3):
        client.chat(MODEL, f"ping [[sim:ttft_ms={delay}]]", max_tokens=16,
                    provider={"only": [candidate.provider_id]})
after = client.route(MODEL)
after

# %%
table = after.to_pandas().dropna(subset=["ttft_ms"]).set_index("provider")
table = table.sort_values("expected_cost_micro_usd")
fig, (cost_ax, ttft_ax) = plt.subplots(1, 2, figsize=(10, 3.2))
table["expected_cost_micro_usd"].plot.barh(ax=cost_ax, color="#4c78a8")
cost_ax.set_title("expected cost of a call (µUSD)")
table["ttft_ms"].plot.barh(ax=ttft_ax, color="#f58518")
ttft_ax.set_title("observed time to first token (ms)")
ttft_ax.set_ylabel("")
fig.tight_layout()
plt.show()

# %% [markdown]
# Sorting by latency now picks the fastest provider, whatever it costs:

# %%
fastest = table["ttft_ms"].idxmin()
quick = client.chat(MODEL, "Quick!", max_tokens=20, provider={"sort": "latency"})
print(f"sort=latency → {quick.provider} (fastest observed: {fastest})")
assert quick.provider == fastest

# %% [markdown]
# ## Failover
#
# Now the first choice breaks: we tell the simulator's control plane to answer its next calls
# with `503 Service Unavailable`, and keep it first in each request's `order` so that every
# call tries it. Each call still succeeds — the router moves on to the next candidate — and
# every failure counts against the broken provider. After three in a row its circuit breaker
# opens and the router stops trying it for a while.

# %%
broken = client.route(MODEL).candidates[0]
fault = {"provider": broken.provider_id, "kind": "503", "count": 3}
httpx.post(f"{gw.simulator_url}/_sim/faults", json=fault).raise_for_status()
for attempt in range(3):
    rescued = client.chat(MODEL, f"Are you there? ({attempt})", max_tokens=20,
                          provider={"order": [broken.provider_id]})
    print(f"call {attempt + 1}: {broken.provider} failed → served by {rescued.provider}")
    assert rescued.provider != broken.provider

# %%
client.route(MODEL)

# %% [markdown]
# The broken provider is now out of the running (see *left out*: its breaker is open). When its
# cool-down ends, the router lets one call through on probation, and the provider is back if
# it answers.
#
# Every call was charged only once, to the provider that answered:

# %%
usage = client.usage(limit=8).to_pandas()
usage[["created_at", "provider", "completion_tokens", "cost_micro_usd", "ttft_ms", "outcome"]]

# %%
gw.stop()
