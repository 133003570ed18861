"""Benchmark the spending ledger: reserve+charge pairs per second, and usage queries at scale.

    python scripts/bench_ledger.py pairs --url sqlite:////tmp/bench.db
    python scripts/bench_ledger.py pairs --url 'postgresql://127.0.0.1:5432/test?user=postgres' \
        --processes 2
    python scripts/bench_ledger.py scale --url sqlite:////tmp/bench.db --charges 10000 100000

For Postgres, each run uses a fresh schema that it drops afterwards. Numbers depend on the
machine; run on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import psycopg
import trio

from gateway.core.money import TokenCounts
from gateway.ledger import (
    AuthorityLimits,
    BudgetRange,
    CallUsage,
    Ledger,
    Principal,
    ReserveRequest,
    TokenLimits,
    open_ledger,
)

_AGENT = "solana:bench:agent{}"
_USER = "solana:bench:user{}"


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    """The URL to benchmark: a fresh SQLite file or a fresh Postgres schema."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            yield url or f"sqlite:///{tmp}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in url else "?"
        try:
            yield f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _principal(i: int, limited: bool) -> Principal:
    if not limited:
        return Principal(_USER.format(i))
    return Principal(
        _USER.format(i),
        token_key=f"key{i}",
        limits=TokenLimits(10**12, "session", BudgetRange("duration", 3600), iat=0),
        authority=_AGENT.format(i),
    )


async def _setup(ledger: Ledger, identities: int) -> None:
    for i in range(identities):
        await ledger.set_authority(AuthorityLimits(_AGENT.format(i), 10**9, 10**15))


async def _pairs(url: str, pairs: int, concurrency: int, identities: int, limited: bool) -> float:
    """Run ``pairs`` reserve+charge pairs with ``concurrency`` tasks; the seconds it took."""
    async with open_ledger(url, recover=False, connections=concurrency) as ledger:
        left = pairs

        async def worker(w: int) -> None:
            nonlocal left
            n = w
            while left > 0:
                left -= 1
                n += concurrency
                p = _principal(n % identities, limited)
                res = await ledger.reserve(ReserveRequest(p, 5000, subject="m", tokens=100))
                await ledger.charge(res, 1234, CallUsage("p", TokenCounts(80, 20)))

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for w in range(concurrency):
                nursery.start_soon(worker, w)
        return time.perf_counter() - start


def _run_pairs(args: argparse.Namespace) -> None:
    with _database(args.url) as url:

        async def setup() -> None:
            async with open_ledger(url) as ledger:
                await _setup(ledger, args.identities)

        trio.run(setup)
        command = [sys.executable, __file__, "worker", "--url", url, "--pairs", str(args.pairs)]
        command += ["--concurrency", str(args.concurrency), "--identities", str(args.identities)]
        command += ["--limited"] if args.limited else []
        procs = [subprocess.Popen(command, stdout=subprocess.PIPE) for _ in range(args.processes)]
        results = [json.loads(p.communicate()[0]) for p in procs]
        wall = max(r["seconds"] for r in results)
        total = args.pairs * args.processes
        report = {
            "url": url.split("?")[0],
            "processes": args.processes,
            "concurrency": args.concurrency,
            "identities": args.identities,
            "limited": args.limited,
            "pairs": total,
            "seconds": round(wall, 3),
            "pairs_per_second": round(total / wall),
            # CPU of the gateway process (both threads), including opening the ledger.
            "cpu_ms_per_pair": round(sum(r["cpu_ms_per_pair"] for r in results) / len(results), 3),
        }

        async def check() -> None:
            async with open_ledger(url) as ledger:
                report["check_ok"] = (await ledger.check()).ok

        trio.run(check)
        print(json.dumps(report))


def _worker(args: argparse.Namespace) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF)
    seconds = trio.run(
        _pairs, args.url, args.pairs, args.concurrency, args.identities, args.limited
    )
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(json.dumps({"seconds": seconds, "cpu_ms_per_pair": cpu / args.pairs * 1000}))


def _fill(url: str, charges: int) -> None:
    """Write ``charges`` finished entries for one identity straight into the tables."""
    now_ms = int(time.time() * 1000)
    rows = [
        (
            "solana:bench:big",
            "k",
            None,
            f"r{i}",
            "model",
            f"model{i % 20}",
            f"prov{i % 4}",
            "charged",
            2000,
            1000,
            1000,
            now_ms - (charges - i) * 1000,
            now_ms,
            now_ms,
            10,
            10,
        )
        for i in range(charges)
    ]
    sql = (
        "INSERT INTO ledger_entries (identity, token_key, authority, request_id, kind, subject, "
        "provider, status, reserved, cost, hold, t_ms, deadline_ms, done_ms, prompt_tokens, "
        "completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    account = (
        "INSERT INTO ledger_accounts (identity, spent, requests, last_t_ms) VALUES (?, ?, ?, ?)"
    )
    account_args = ("solana:bench:big", 1000 * charges, charges, now_ms)
    totals: dict[tuple[int, int], int] = {}
    for row in rows:
        for level, size in ((1, 60_000), (2, 3_600_000)):
            key = (level, row[11] - row[11] % size)
            totals[key] = totals.get(key, 0) + 1000
    buckets = [("solana:bench:big", level, start, hold) for (level, start), hold in totals.items()]
    bucket_sql = "INSERT INTO ledger_buckets (identity, level, start_ms, hold) VALUES (?, ?, ?, ?)"
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.executemany(sql, rows)
            conn.executemany(bucket_sql, buckets)
            conn.execute(account, account_args)
            conn.execute("ANALYZE")
        conn.close()
        return
    with psycopg.connect(url) as pg:
        with pg.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)
            cur.executemany(bucket_sql.replace("?", "%s"), buckets)
            cur.execute(account.replace("?", "%s"), account_args)
        pg.commit()
        pg.autocommit = True
        pg.execute("ANALYZE")


async def _timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 2)


def _run_scale(args: argparse.Namespace) -> None:
    for charges in args.charges:
        with _database(args.url) as url:

            async def migrate() -> None:
                async with open_ledger(url):
                    pass

            trio.run(migrate)
            _fill(url, charges)

            async def measure(charges: int = charges) -> dict[str, float]:
                who = "solana:bench:big"
                session = Principal(who, limits=TokenLimits(10**12, "session", iat=0))
                rounds = Principal(
                    who, limits=TokenLimits(10**12, "account", BudgetRange("rounds", 100))
                )
                async with open_ledger(url) as ledger:
                    return {
                        "usage_page_ms": await _timed(lambda: ledger.usage(who, limit=50)),
                        "usage_page_filtered_ms": await _timed(
                            lambda: ledger.usage(who, limit=50, subject="model7")
                        ),
                        "usage_page_deep_ms": await _timed(
                            lambda: ledger.usage(who, limit=50, before=charges // 2)
                        ),
                        "summary_model_ms": await _timed(
                            lambda: ledger.summary(who, group_by="model")
                        ),
                        "summary_day_ms": await _timed(lambda: ledger.summary(who, group_by="day")),
                        "headroom_session_ms": await _timed(lambda: ledger.headroom(session)),
                        "headroom_rounds100_ms": await _timed(lambda: ledger.headroom(rounds)),
                        "check_ms": await _timed(ledger.check, repeat=1),
                        "check_ok": float((await ledger.check()).ok),
                    }

            result = trio.run(measure)
            print(json.dumps({"url": url.split("?")[0], "charges": charges, **result}))


def main() -> None:
    """Parse the command line and run one benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("pairs", "worker"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=name == "worker")
        p.add_argument("--pairs", type=int, default=5000)
        p.add_argument("--concurrency", type=int, default=8)
        p.add_argument("--identities", type=int, default=100)
        p.add_argument("--limited", action="store_true", help="budget window + authority caps")
        p.add_argument("--processes", type=int, default=1)
    scale = sub.add_parser("scale")
    scale.add_argument("--url")
    scale.add_argument("--charges", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    {"pairs": _run_pairs, "worker": _worker, "scale": _run_scale}[args.command](args)


if __name__ == "__main__":
    main()
