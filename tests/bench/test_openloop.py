"""The open-loop load generator (bench/openloop.py) and the verdict it gives a p99 target."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import run
from bench.openloop import percentile, run_open_loop


def serve(handler_sleep: float, *, one_at_a_time: bool = False):
    """A local HTTP server answering 200 (or 409 for /busy) after `handler_sleep` seconds; with
    `one_at_a_time`, its connections' threads answer one request at a time (a capacity of one)."""
    turn = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's name)
            if one_at_a_time:
                with turn:
                    time.sleep(handler_sleep)
            else:
                time.sleep(handler_sleep)
            self.send_response(409 if self.path == "/busy" else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def fast_server():
    server = serve(0.0)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def get(path: str) -> run.Req:
    return run.Req("GET", path)


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.99) == 99 and percentile(values, 0.50) == 50 and percentile([], 0.99) == 0.0
    assert percentile([7.0], 0.99) == 7.0


def test_it_sends_rate_times_seconds_requests_in_that_time_and_counts_statuses(fast_server):
    began = time.monotonic()
    res = run_open_loop(fast_server, [get("/"), get("/busy")], rate=40, seconds=1.0)
    took = time.monotonic() - began
    assert res["requests"] == 40 and res["statuses"] == {200: 20, 409: 20}
    assert res["ok"] == 20 and res["conflicts"] == 20 and res["errors"] == 0
    assert 0.95 <= res["sent_for_s"] < 1.2 and took < 3  # paced over the second, not sent at once
    assert res["p99_ms"] < 500


def test_it_runs_where_an_event_loop_is_already_running(fast_server):
    # a test process where Playwright's sync API ran has a loop running in its main thread: called
    # from a thread whose loop is running, it still answers (asyncio.run() alone would raise)
    async def inside_a_loop():
        return run_open_loop(fast_server, [get("/")], rate=20, seconds=0.5)

    found: dict = {}

    def caller() -> None:
        loop = asyncio.new_event_loop()
        try:
            found.update(loop.run_until_complete(inside_a_loop()))
        finally:
            loop.close()

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join()
    assert found["statuses"] == {200: 10}


def test_a_server_slower_than_the_rate_shows_the_overload_in_the_latency():
    # one request at a time, 50 ms each: at most 20/s. Offered 40/s for a second, requests keep coming
    # at their due times and the last ones wait for all the earlier ones: about a second, not 50 ms
    server = serve(0.05, one_at_a_time=True)
    try:
        res = run_open_loop(f"http://127.0.0.1:{server.server_port}", [get("/")], rate=40, seconds=1.0)
    finally:
        server.shutdown()
    assert res["statuses"] == {200: 40}
    assert res["p99_ms"] > 800 and res["answered_rps"] < 30


def test_the_p99_target_is_read_from_the_open_loop_when_there_is_one():
    closed = dict(ok_rps=160.0, p50_ms=90.0, p99_ms=240.0, conflicts=0, errors=0)
    kept_up = dict(offered_rps=150, answered_rps=149.0, p99_ms=120.0, errors=0)
    assert run.verdict("checkout", {**closed, "open": kept_up}, 5000).endswith("✓")
    # too slow at the rate, fell behind the rate, or a request not answered: the target is missed
    assert run.verdict("checkout", {**closed, "open": {**kept_up, "p99_ms": 151.0}}, 5000).endswith("✗")
    assert run.verdict("checkout", {**closed, "open": {**kept_up, "answered_rps": 140.0}}, 5000).endswith("✗")
    assert run.verdict("checkout", {**closed, "open": {**kept_up, "errors": 1}}, 5000).endswith("✗")
    # the closed loop must still reach the rate
    assert run.verdict("checkout", {**closed, "ok_rps": 149.0, "open": kept_up}, 5000).endswith("✗")
    # without an open loop (--no-open-loop), wrk's p99
    assert run.verdict("checkout", closed, 5000).endswith("✗")
    assert run.verdict("checkout", {**closed, "p99_ms": 140.0}, 5000).endswith("✓")


def test_open_loop_fractions_are_read_and_out_of_range_ones_refused():
    assert run.parse_fractions("") == []
    assert run.parse_fractions("0.6, 0.8") == [0.6, 0.8]
    for wrong in ("0", "1.5", "-0.2"):
        with pytest.raises(SystemExit):
            run.parse_fractions(wrong)
