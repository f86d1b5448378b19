"""An open-loop load at a fixed rate: the latency of a write at the rate its target names.

wrk keeps 16 connections busy (a closed loop): each sends its next request when the last is answered,
so it measures how many requests/s the shop can answer, and a latency that is mostly the load
generator's own queue. By Little's law a closed loop's mean latency is connections ÷ throughput
whatever the shop does: 16 connections at 150 orders/s wait 107 ms on average, 8 of them queued in
the listen backlog behind gunicorn's 2 × 4 threads. A target such as "≥ 150 orders/s with p99 < 150 ms"
asks for the latency a buyer sees while the shop takes 150 orders a second; that is what this measures.

Request i is due at `start + i / rate` whether or not the earlier ones were answered (what wrk2 and
k6's `constant-arrival-rate` do), and its latency counts from when it was due, not from when it was
sent: a request that had to wait for a free connection, or for this process, counts that wait too (no
"coordinated omission"). If the shop answers more slowly than the rate, requests pile up and the p99
grows without bound: the figure then shows the overload instead of hiding it.

    python -m bench.openloop http://127.0.0.1:8800/healthz --rate 150 --seconds 10

`bench.run` calls `run_open_loop` after the closed-loop run of each scenario whose target names a
p99 (bench/README.md, "Latency at the target rate").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import threading
import time
import types

import aiohttp

#: Connections the generator may open at once. More than the server's threads, so a slow answer
#: never holds back a request that is due: those wait in the server's queue, where a buyer's would.
MAX_CONNECTIONS = 256


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(share * len(sorted_values))))
    return sorted_values[rank - 1]


async def _load(base: str, requests: list, rate: float, seconds: float, timeout: float) -> dict:
    count = max(1, int(rate * seconds))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    late_sends = 0
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(base, connector=connector, timeout=client_timeout) as session:
        loop = asyncio.get_running_loop()

        async def one(req, due: float) -> None:
            nonlocal errors
            data = req.body.encode("utf-8") if req.body is not None else None
            try:
                async with session.request(req.method, req.path, headers=req.headers, data=data) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
            except (aiohttp.ClientError, asyncio.TimeoutError):
                errors += 1
                return
            latencies.append(loop.time() - due)

        start = loop.time() + 0.05
        tasks = []
        for i in range(count):
            due = start + i / rate
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.010:
                late_sends += 1  # this process fell behind the schedule (its latency still counts from `due`)
            tasks.append(asyncio.create_task(one(requests[i % len(requests)], due)))
        sent_for = loop.time() - start
        await asyncio.gather(*tasks)
        took = loop.time() - start
    latencies.sort()
    ok = sum(n for status, n in statuses.items() if status < 400)
    return {
        "offered_rps": rate,
        "requests": count,
        "ok": ok,
        "conflicts": statuses.get(409, 0),
        "errors": count - ok - statuses.get(409, 0),
        "socket_errors": errors,
        "statuses": statuses,
        # answered per second over the whole run, the wait for the last answers included
        "answered_rps": (count - errors) / took if took else 0.0,
        "sent_for_s": sent_for,
        "late_sends": late_sends,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else 0.0) * 1000,
    }


def run_open_loop(base: str, requests: list, *, rate: float, seconds: float, timeout: float = 10.0) -> dict:
    """Send `rate × seconds` of `requests` (cycled; each needs .method, .path, .headers, .body) at a
    steady `rate` per second to `base`; latencies from each request's due time.

    The event loop runs in a thread of its own, so a caller whose thread already runs one (a test
    process where Playwright's sync API ran) can call this too."""
    result: dict = {}

    def load() -> None:
        result.update(asyncio.run(_load(base, requests, rate, seconds, timeout)))

    thread = threading.Thread(target=load, name="open-loop")
    thread.start()
    thread.join()
    if not result:
        raise RuntimeError("the open loop stopped before it finished (see the thread's traceback above)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the full URL to GET")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    scheme, rest = args.url.split("://", 1)
    host, _, path = rest.partition("/")

    get = types.SimpleNamespace(method="GET", path="/" + path, headers={}, body=None)
    began = time.time()
    result = run_open_loop(f"{scheme}://{host}", [get], rate=args.rate, seconds=args.seconds)
    result["wall_s"] = round(time.time() - began, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
