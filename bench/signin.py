"""Sign-in benchmark: does a refused sign-in take as long whether or not the account exists?

Run from the repository root::

    .venv/bin/python -m bench.signin

It starts one ``haven serve`` node on the embedded SQLite default in a temporary folder, the first admin through
the ``haven`` CLI, then ``--accounts`` participants and as many disabled ones through the admin API. It then sends
``POST /api/auth/login`` one at a time (no queueing), in rounds of one try of each kind, the order rotating from
round to round:

- ``unknown``: an email no account has (a new one every try);
- ``wrong``: an existing account, a wrong password;
- ``disabled``: a disabled account, its right password.

All three must be refused with the same 401. Each try comes from an address of its own (the node trusts
``X-Forwarded-For`` from loopback, as behind a proxy), and each account gets fewer than 10 wrong tries, so the
sign-in throttle never steps in. The latency is the client's, from sending the request to reading the answer; the
first ``--warmup`` rounds are not counted. Reported per kind: the median, p90 and p99, and the ratio of each kind's
median and p90 to the wrong password's (the goal: an unknown email within 20 % of a wrong password), with the node's
CPU per try.

``--server-path DIR`` runs the node from another checkout (its ``server`` package first on ``PYTHONPATH``), to
measure an earlier version the same way. A Markdown summary goes to stdout and the results, with every sample, to
``bench/results/signin-<timestamp>.json``. The run is capped by ``--time-limit``; the node and its folder are removed
on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bench.cpu import CLOCK_TICKS, CpuProbe, delta
from bench.rooms import StderrTail, bounded, machine
from bench.runs import bounded_run, write_results
from bench.stats import summarize
from tests.support.api import Api
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, clean_env, create_admin, start_node

COMMAND = ".venv/bin/python -m bench.signin"

KINDS = ("unknown", "wrong", "disabled")
SETUP_CONCURRENCY = 4  # account creations in flight (argon2 hashing on the node)
MAX_WRONG_PER_ACCOUNT = 9  # below the throttle's 10 failures per account
GOAL = 0.20  # an unknown email's median within 20 % of a wrong password's
REQUEST_TIMEOUT = 30.0


class BenchError(RuntimeError):
    pass


class SigninBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started_at = datetime.now(UTC)
        self.workdir = Path(tempfile.mkdtemp(prefix="haven-bench-signin-"))
        self.node: Node | None = None
        self.tail: StderrTail | None = None
        self.session: aiohttp.ClientSession | None = None
        self.probe = CpuProbe()
        self.samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
        self.unexpected: Counter[str] = Counter()
        self.addresses = 0

    # -- the node and its accounts ---------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        env = clean_env(
            HAVEN_DATA_DIR=str(self.workdir / "data"),
            HAVEN_JWT_SECRET="bench-secret-" + secrets.token_hex(24),
            HAVEN_LOG_LEVEL="warning",
            HAVEN_WEB_DIR=str(self.workdir / "web"),
            # Each try carries an address of its own, as a proxy on loopback would forward it.
            HAVEN_TRUSTED_PROXIES="127.0.0.1/32",
        )
        if self.args.server_path:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.args.server_path, env.get("PYTHONPATH")]))
        return env

    async def start(self) -> None:
        env = self.environment()
        await asyncio.to_thread(create_admin, self.workdir, env)
        self.node = await asyncio.to_thread(start_node, self.workdir, env)
        self.tail = StderrTail(self.node)
        self.probe.add("node", self.node.process.pid)
        self.session = aiohttp.ClientSession(
            base_url=self.node.base, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        )

    async def create_accounts(self) -> None:
        assert self.session is not None
        api = Api(self.session)
        admin = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)

        async def make(kind: str, number: int) -> None:
            body = {
                "email": account_email(kind, number),
                "display_name": f"Bench {kind} {number}",
                "role": "participant",
                "password": right_password(number),
            }
            status, answer = await api.call("POST", "/api/users", admin, body)
            if status != 201:
                raise BenchError(f"POST /api/users: {status} {answer}")
            if kind == "disabled":
                status, answer = await api.call("PATCH", f"/api/users/{answer['id']}", admin, {"disabled": True})
                if status != 200:
                    raise BenchError(f"PATCH /api/users/{{id}}: {status} {answer}")

        jobs = [partial(make, kind, n) for kind in ("wrong", "disabled") for n in range(self.args.accounts)]
        for result in await bounded(SETUP_CONCURRENCY, jobs):
            if isinstance(result, BaseException):
                raise result

    # -- measuring -------------------------------------------------------------------------------------------

    def next_address(self) -> str:
        self.addresses += 1
        n = self.addresses
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    async def try_once(self, kind: str, round_number: int, record: bool) -> None:
        assert self.session is not None
        account = round_number % self.args.accounts
        email, password = {
            "unknown": (f"nobody-{round_number}@example.org", "a-password-guess"),
            "wrong": (account_email("wrong", account), f"wrong-guess-{round_number}"),
            "disabled": (account_email("disabled", account), right_password(account)),
        }[kind]
        headers = {"X-Forwarded-For": self.next_address()}
        began = time.perf_counter()
        async with self.session.post(
            "/api/auth/login", json={"email": email, "password": password}, headers=headers
        ) as response:
            await response.read()
            elapsed = time.perf_counter() - began
            status = response.status
        if status != 401:
            self.unexpected[f"{kind}:{status}"] += 1
        elif record:
            self.samples[kind].append(elapsed)

    async def measure(self) -> dict[str, Any]:
        began = time.perf_counter()
        await self.start()
        await self.create_accounts()
        print(
            f"setup: node up, {2 * self.args.accounts} accounts in {time.perf_counter() - began:.1f} s", file=sys.stderr
        )
        rounds = self.args.warmup + self.args.tries
        cpu_before: dict[str, float] = {}
        measured_began = 0.0
        for number in range(rounds):
            record = number >= self.args.warmup
            if number == self.args.warmup:
                cpu_before = self.probe.snapshot()
                measured_began = time.perf_counter()
            shift = number % len(KINDS)
            for kind in KINDS[shift:] + KINDS[:shift]:
                await self.try_once(kind, number, record)
        wall = time.perf_counter() - measured_began
        cpu = delta(cpu_before, self.probe.snapshot())
        tries = sum(len(samples) for samples in self.samples.values())
        print(f"measured: {tries} tries in {wall:.1f} s", file=sys.stderr)
        return self.results(wall, cpu["node"], tries)

    def results(self, wall_s: float, node_cpu_s: float, tries: int) -> dict[str, Any]:
        latency = {kind: summarize(samples) for kind, samples in self.samples.items()}
        wrong = latency["wrong"]

        def ratio(kind: str, key: str) -> float | None:
            mine, theirs = latency[kind][key], wrong[key]
            return None if mine is None or not theirs else round(mine / theirs, 3)

        ratios = {kind: {"p50": ratio(kind, "p50_ms"), "p90": ratio(kind, "p90_ms")} for kind in KINDS}
        unknown_p50 = ratios["unknown"]["p50"]
        return {
            "bench": "signin",
            "command": COMMAND,
            "started_at": self.started_at.isoformat(),
            "config": {
                "tries_per_kind": self.args.tries,
                "warmup_rounds": self.args.warmup,
                "accounts_per_kind": self.args.accounts,
                "database": "sqlite (embedded default)",
                "server_path": self.args.server_path or "this checkout",
            },
            "machine": machine(),
            "latency_ms": latency,
            "ratio_to_wrong_password": ratios,
            "goal": {
                "unknown_p50_within": GOAL,
                "met": unknown_p50 is not None and abs(unknown_p50 - 1) <= GOAL,
            },
            "unexpected_answers": dict(self.unexpected),
            "cpu": {
                "measured_wall_s": round(wall_s, 2),
                "node_cpu_s": round(node_cpu_s, 2),
                "node_cpu_ms_per_try": round(node_cpu_s * 1000 / tries, 2) if tries else None,
                "clock_ticks_per_s": CLOCK_TICKS,
            },
            "samples_ms": {kind: [round(s * 1000, 3) for s in samples] for kind, samples in self.samples.items()},
        }

    # -- cleaning up -----------------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self.session.close()
        if self.node is not None:
            with contextlib.suppress(Exception):
                await self.node.stop(within=15)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def node_logs(self) -> str:
        lines = self.tail.lines if self.tail is not None else []
        return "--- node stderr (last lines) ---\n" + "\n".join(lines)


def account_email(kind: str, number: int) -> str:
    return f"bench-{kind}-{number}@example.org"


def right_password(number: int) -> str:
    return f"right-password-{number}"


def markdown(results: dict[str, Any]) -> str:
    config, cpu = results["config"], results["cpu"]
    lines = [
        f"Haven sign-in benchmark, {results['started_at']}: {config['tries_per_kind']} refused sign-ins of each kind, "
        f"one at a time, interleaved; node from {config['server_path']}, {config['database']}, "
        f"{results['machine']['cpus']} CPUs shared with the load generator",
        "",
        "| kind | count | p50 ms | p90 ms | p99 ms | mean ms | p50 / wrong | p90 / wrong |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        row, ratio = results["latency_ms"][kind], results["ratio_to_wrong_password"][kind]
        lines.append(
            f"| {kind} | {row['count']} | {_number(row['p50_ms'])} | {_number(row['p90_ms'])} | "
            f"{_number(row['p99_ms'])} | {_number(row['mean_ms'])} | {_number(ratio['p50'], 2)} | "
            f"{_number(ratio['p90'], 2)} |"
        )
    goal = results["goal"]
    lines += [
        "",
        f"Goal (unknown email's median within {goal['unknown_p50_within']:.0%} of a wrong password's): "
        f"{'met' if goal['met'] else 'NOT met'}. Unexpected answers: {results['unexpected_answers'] or 'none'}.",
        f"Node CPU: {cpu['node_cpu_s']} s over {cpu['measured_wall_s']} s measured, "
        f"{cpu['node_cpu_ms_per_try']} ms per try (resolution 1/{cpu['clock_ticks_per_s']} s).",
    ]
    return "\n".join(lines)


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


async def run(args: argparse.Namespace) -> int:
    bench = SigninBench(args)
    results = await bounded_run(bench.measure, bench.cleanup, bench.node_logs, args.time_limit, 60)
    print(markdown(results))
    write_results("signin", results)
    return 1 if results["unexpected_answers"] else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.signin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=200, help="measured tries of each kind (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="rounds not counted (default 10)")
    parser.add_argument("--accounts", type=int, default=25, help="accounts of each kind (default 25)")
    parser.add_argument("--server-path", default="", help="run the node from this checkout instead")
    parser.add_argument("--time-limit", type=float, default=300.0, help="cap on the whole run, seconds")
    args = parser.parse_args(argv)
    if not 10 <= args.tries <= 5000 or not 0 <= args.warmup <= 100 or not 1 <= args.accounts <= 500:
        parser.error("tries 10-5000, warmup 0-100, accounts 1-500")
    if math.ceil((args.tries + args.warmup) / args.accounts) > MAX_WRONG_PER_ACCOUNT:
        parser.error(f"at most {MAX_WRONG_PER_ACCOUNT} wrong tries per account: raise --accounts")
    if not 10 <= args.time_limit <= 1800:
        parser.error("time limit 10-1800 s")
    if args.server_path and not Path(args.server_path, "server", "__init__.py").exists():
        parser.error(f"no server package in {args.server_path}")
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
