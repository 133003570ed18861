# %% [markdown]
# # 3 · Quotes and caps: the price before the call, and a limit that holds
#
# An agent that spends money should know the price before it commits. A **quote** is a
# binding price for one call: the provider, its unit prices, the prompt's tokens, the most the
# reply may use, and so the most the call may cost. A call that names the quote is charged at
# those prices and never more than that maximum.
#
# And an agent must not be able to overspend: before every call the gateway reserves its worst
# case against every limit that applies, and refuses the call if it does not fit.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from agents import BitRouterError
from gateway import Gateway

# Besides the master key, the home gets the key of an agent ("capped-agent"): an identity of
# its own, with its own spending and limits.
gw = Gateway(simulator=True, agent_keys=["capped-agent"]).start()
client = gw.client()
MODEL = "moonshotai:kimi-k2.5"

# %% [markdown]
# ## A quote

# %%
prompt = "Summarise the plot of Hamlet in three sentences."
quote = client.quote(MODEL, prompt, max_tokens=200)
quote

# %% [markdown]
# The maximum is the prompt's tokens plus the full `max_tokens` of output at the quoted
# provider's prices. Now the call, bound to the quote:

# %%
reply = client.chat(MODEL, prompt, max_tokens=200, quote=quote)
print(f"quoted at most {quote.max_cost_micro_usd} µUSD on {quote.provider}; "
      f"charged {reply.cost_micro_usd} µUSD on {reply.provider}")
assert reply.cost_micro_usd <= quote.max_cost_micro_usd

# %% [markdown]
# A quote binds one call: using it again is refused.

# %%
try:
    client.chat(MODEL, prompt, max_tokens=200, quote=quote)
except BitRouterError as refusal:
    print(f"refused: {refusal.message} (HTTP {refusal.status})")

# %% [markdown]
# ## Quote against actual, over many prompts
#
# Replies are usually shorter than their limit, so the actual cost sits below the quoted
# maximum. The simulator can be told how long a reply should be (`[[sim:tokens=N]]`); here
# twenty prompts ask for replies of growing length, each quoted first and then made at its
# quote.

# %%
rows = []
for i in range(20):
    words = 10 * (i + 1)
    ask = f"Tell me about topic {i} [[sim:tokens={words}]]"
    q = client.quote(MODEL, ask, max_tokens=200)
    r = client.chat(MODEL, ask, max_tokens=200, quote=q)
    rows.append({
        "reply_tokens": r.usage.completion_tokens,
        "quoted_max": q.max_cost_micro_usd,
        "estimated": q.estimated_cost_micro_usd,
        "actual": r.cost_micro_usd,
    })
runs = pd.DataFrame(rows)
over = int((runs.actual > runs.quoted_max).sum())
print(f"{len(runs)} quoted calls; charged above the quote: {over}; "
      f"actual/max on average: {(runs.actual / runs.quoted_max).mean():.0%}")
assert over == 0

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(runs.reply_tokens, runs.quoted_max, "o-", label="quoted maximum")
ax.plot(runs.reply_tokens, runs.estimated, "s--", label="quote's estimate")
ax.plot(runs.reply_tokens, runs.actual, "^-", label="charged")
ax.set_xlabel("reply length (tokens)")
ax.set_ylabel("µUSD")
ax.set_title("quote vs actual cost (max_tokens=200)")
ax.legend()
plt.show()

# %% [markdown]
# ## A cap stops an agent
#
# Give the agent a token with a **budget** — here 2,000 µUSD (a fifth of a cent) — signed by
# its own key, and let it call in a loop, each reply about 150 tokens long. Each call reserves
# its worst case first; once the remaining budget cannot cover another call, the gateway
# answers `402 Payment Required` and forwards nothing upstream. (On-chain spending
# authorities — notebook 1 — cap an agent the same way, enforced by the chain.)

# %%
agent = gw.client(token=gw.token(agent="capped-agent", budget=2000))
calls = 0
try:
    while calls < 100:
        agent.chat(MODEL, f"Step {calls}: keep going. [[sim:tokens=150]]", max_tokens=200)
        calls += 1
except BitRouterError as refusal:
    stopped = refusal
print(f"stopped after {calls} calls: {stopped.message} (HTTP {stopped.status}, {stopped.code})")
assert stopped.status == 402

# %%
balance = agent.balance()
print(f"spent {balance.spent_micro_usd} µUSD of 2000; remaining {balance.remaining_micro_usd} µUSD")
assert balance.spent_micro_usd <= 2000
balance

# %%
gw.stop()
