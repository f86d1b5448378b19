"""Cheap checks of the benchmark harness's pure parts (no servers, no load)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
import sqlalchemy as sa

from bench import run, volume
from tests.conftest import requires_postgres


def test_lua_string_escapes_every_non_ascii_byte_and_quote():
    literal = run.lua_string('搜索 "q"\n')
    assert literal.startswith('"') and literal.endswith('"')
    assert literal.isascii() and '\\"' not in literal and "\\034" in literal and "\\010" in literal
    assert "\\230\\144\\156" in literal  # 搜 in UTF-8, decimal escapes


def test_wrk_script_holds_every_request_and_writes_json_in_done(tmp_path):
    reqs = [run.Req("GET", "/search?q=%E8%85%8C"), run.Req("POST", "/api/v1/orders", {"A": "b"}, '{"x": 1}')]
    script = run.wrk_script(reqs, tmp_path / "out.json")
    assert script.count("wrk.format") == 1 and "function done(" in script and "function response(" in script
    assert script.count('{"GET"') + script.count('{"POST"') == 2


def test_render_gives_ratios_to_the_ceiling_and_target_verdicts():
    res = dict(ok_rps=1900.0, p50_ms=2.0, p99_ms=9.0, conflicts=0, errors=0)
    table = run.render(
        [
            ("hello", "hello", {**res, "ok_rps": 3800.0}, ""),
            ("home", "home page", res, ""),
            ("booking", "booking", None, "not available (HTTP 404)"),
        ],
        3800.0,
    )
    assert "0.500" in table and "≥ 1.00 ✗" in table and "not available (HTTP 404)" in table
    # the anonymous pages go through nginx: their target is the web server's speed, 1.0 × hello
    table = run.render([("home", "home page", {**res, "ok_rps": 3800.0}, "")], 3800.0)
    assert "≥ 1.00 ✓" in table


def test_long_tail_queries_are_all_distinct_and_made_of_the_words():
    words = ["腌菜", "土鸡蛋", "柳溪村", "有机", "大米"]
    queries = run.longtail_queries(words, random.Random(1), n=50)
    assert len(queries) == len(set(queries)) == 50
    assert all(set(q.split()) <= set(words) and len(set(q.split())) == len(q.split()) for q in queries)
    assert len(run.longtail_queries(words, random.Random(1), n=1000)) == 5 * 4 + 5 * 4 * 3  # all there are


def test_the_long_tail_scenario_is_single_use_and_goes_through_nginx():
    manifest = {
        "catalog_pages": 3,
        "categories": ["eggs"],
        "product_paths": ["/products/1-a"],
        "pool": [],
        "stay_unit_types": [],
        "report_month": {"from": "2026-10-01", "to": "2026-10-31"},
        "search_words": ["腌菜", "土鸡蛋", "柳溪村"],
    }
    scenarios = {s.name: s for s in run.build_scenarios(manifest, {"consumers": [], "county": None}, random.Random(1))}
    tail = scenarios["search_longtail"]
    assert tail.single_use and len({r.path for r in tail.requests}) == len(tail.requests) == 12
    assert {"home", "catalog", "product", "search_longtail"} <= set(run.PROXIED)


def test_the_nginx_config_is_the_repositorys_with_the_places_filled_in(tmp_path):
    conf = run.nginx_config(tmp_path).read_text()
    assert f"root {run.ROOT};" in conf and f"server 127.0.0.1:{run.APP_PORT};" in conf
    assert f"listen 127.0.0.1:{run.NGINX_PORT};" in conf and "/srv/village-eline" not in conf
    assert "/tmp/village-eline-nginx" not in conf and str(tmp_path / "nginx" / "nginx.pid") in conf
    assert "proxy_pass http://village_eline;" in conf  # everything else as deploy/nginx.conf says


def test_the_booking_scenario_never_books_more_than_twice_per_guest_and_sends_each_request_once(tmp_path):
    manifest = {
        "catalog_pages": 3,
        "categories": ["eggs"],
        "product_paths": ["/products/1-a"],
        "pool": [],
        "stay_unit_types": [{"unit_type_id": 1, "listing_id": 1, "max_guests": 2}],
        "report_month": {"from": "2026-10-01", "to": "2026-10-31"},
    }
    guests = [f"token-{i}" for i in range(50)]
    scenarios = {
        s.name: s
        for s in run.build_scenarios(manifest, {"consumers": [], "county": None, "guests": guests}, random.Random(1))
    }
    booking = scenarios["booking"]
    per_guest: dict[str, int] = {}
    for r in booking.requests:
        per_guest[r.headers["Authorization"]] = per_guest.get(r.headers["Authorization"], 0) + 1
    assert booking.single_use and len(per_guest) == 50 and max(per_guest.values()) == 2  # the cap: 2 open
    assert per_guest["Bearer token-0"] == 1  # the probe's request is the first one: guest 0 books twice too
    assert "local stripes = 2" in run.wrk_script(booking.requests, tmp_path / "o.json", stripes=2)
    assert run.guest_count(10) == 5000 and run.guest_count(1) == 500


def test_scenarios_without_tokens_say_why_instead_of_sending_nothing():
    manifest = {
        "catalog_pages": 3,
        "categories": ["eggs"],
        "product_paths": ["/products/1-a"],
        "pool": [[1, 1]],
        "stay_unit_types": [{"unit_type_id": 1, "listing_id": 1, "max_guests": 2}],
        "report_month": {"from": "2026-10-01", "to": "2026-10-31"},
    }
    scenarios = {s.name: s for s in run.build_scenarios(manifest, {"consumers": [], "county": None}, random.Random(1))}
    assert scenarios["checkout"].requests == [] and scenarios["checkout"].note
    assert scenarios["county_income"].requests == [] and scenarios["county_income"].note
    assert len(scenarios["catalog"].requests) == 800


@requires_postgres
def test_copy_fills_the_columns_it_is_not_given_with_their_scalar_defaults(db):
    """bench.volume.copy_rows (PostgreSQL's COPY): a column the generator leaves out gets the model's
    scalar or 0-arg default (a JSON one written as JSON); a nullable column without one stays NULL."""
    table = sa.Table(
        "copy_defaults",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("a", sa.Integer, default=7, nullable=False),
        sa.Column("b", sa.JSON, default=list),
        sa.Column("c", sa.String, nullable=True),
        prefixes=["TEMPORARY"],
    )
    conn = db.session.connection()
    table.create(conn)
    assert volume.copy_rows(conn, table, ["id"], [(1,), (2,)]) == 2
    assert conn.execute(sa.select(table.c.id, table.c.a, table.c.b, table.c.c).order_by(table.c.id)).all() == [
        (1, 7, [], None),
        (2, 7, [], None),
    ]


def test_copy_refuses_a_not_null_column_without_a_default_before_writing_anything():
    strict = sa.Table(
        "u", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("d", sa.Integer, nullable=False)
    )
    with pytest.raises(RuntimeError, match="u.d is NOT NULL"):
        volume.copy_rows(None, strict, ["id"], [(1,)])  # no connection needed: refused first


def test_an_api_scenario_missing_from_the_openapi_spec_is_not_available_without_any_request():
    scenario = run.Scenario("booking", "booking", [run.Req("POST", "/api/v1/bookings", {}, "{}")], api_path="/bookings")
    why = run.probe("http://127.0.0.1:9", scenario, paths={"/products"}, warm=1)  # port 9: nothing listens
    assert why.startswith("not available")


def test_the_report_command_line_leaves_the_note_out():
    assert (
        run.shown_command(["--seconds", "5", "--note", "busy machine", "--small"])
        == "python -m bench.run --seconds 5 --small"
    )


def test_cpu_per_request_counts_each_part_and_the_cores_bound():
    before = {"web": {1: 10.0, 2: 5.0}, "celery": {3: 1.0}, "postgres": {4: 2.0}, "redis": {5: 0.5}}
    after = {"web": {1: 11.0, 2: 6.0, 9: 0.5}, "celery": {3: 1.5}, "postgres": {4: 2.4}, "redis": {5: 0.6}}
    cpu = run.CpuMeter.per_request(before, after, 200)  # a worker (9) that appeared counts from zero
    assert cpu == pytest.approx({"web": 12.5, "celery": 2.5, "postgres": 2.0, "redis": 0.5})
    table = run.render_cpu([("API checkout", cpu)], 2)
    assert "17.50" in table and "| 114 " in table  # 2 cores / 17.5 ms


def test_the_cpu_meter_reads_this_process():
    meter = run.CpuMeter(os.getpid(), None)
    sum(i * i for i in range(300_000))
    snap = meter.snapshot()
    assert snap["web"][os.getpid()] > 0 and snap["celery"] == {} and snap["stripe"] == {}


def test_the_emulator_and_the_load_generator_take_the_same_cores_and_bound_the_rate():
    cpu = {"web": 12.0, "postgres": 4.0, "stripe": 1.5, "wrk": 2.5}
    table = run.render_cpu([("API mixed checkout", cpu)], 2)
    row = [cell.strip() for cell in table.splitlines()[-1].split("|")[1:-1]]
    head = [cell.strip() for cell in table.splitlines()[0].split("|")[1:-1]]
    got = dict(zip(head, row))
    assert got["shop"] == "16.00" and got["all"] == "20.00" and got["≤ req/s on 2 cores"] == "100"


def test_the_load_generator_is_counted_once_it_has_ended():
    meter = run.CpuMeter(os.getpid(), None)
    before = meter.snapshot()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    after = meter.snapshot()
    assert run.CpuMeter.per_request(before, after, 1)["wrk"] > 10  # ms of the child that ended


def _fake_runs(monkeypatch, idles):
    """run_wrk answering with the given idle shares in turn (req/s 1000, 2000, …)."""
    calls = []

    def fake(wrk, base, scenario, args, tag):
        calls.append(tag)
        n = len(calls)
        return dict(ok_rps=1000.0 * n, p50_ms=1.0, p99_ms=2.0, conflicts=0, errors=0, idle=idles[n - 1])

    monkeypatch.setattr(run, "run_wrk", fake)
    return calls


def test_a_read_run_the_host_slowed_is_measured_again_and_the_busier_run_kept(monkeypatch):
    calls = _fake_runs(monkeypatch, [0.45, 0.03])
    res = run.measure(
        "wrk", "http://x", run.Scenario("home", "home", [run.Req("GET", "/")]), None, "home", repeatable=True
    )
    assert calls == ["home", "home-again"] and res["ok_rps"] == 2000.0 and res["rerun_idle"] == 0.45
    assert "↻ 45%" in run.idle_cell(res) and "⚠" not in run.idle_cell(res)


def test_a_slowed_write_run_is_flagged_not_repeated_and_a_busy_run_is_kept_as_is(monkeypatch):
    calls = _fake_runs(monkeypatch, [0.45])
    sc = run.Scenario("checkout", "checkout", [run.Req("POST", "/api/v1/orders")])
    res = run.measure("wrk", "http://x", sc, None, "checkout", repeatable=False)
    assert calls == ["checkout"] and "rerun_idle" not in res and run.idle_cell(res) == "45% ⚠"
    calls = _fake_runs(monkeypatch, [0.04])
    assert "rerun_idle" not in run.measure("wrk", "http://x", sc, None, "home", repeatable=True) and calls == ["home"]


def test_the_machine_idle_share_comes_from_proc_stat():
    before = run.machine_cpu()
    assert before[1] >= before[0] >= 0
    assert run.machine_idle_share((100, 1000), (150, 1100)) == 0.5
    assert run.machine_idle_share((100, 1000), (100, 1000)) == 0.0


def test_the_memory_line_names_the_biggest_rises_of_the_peak_not_the_last_scenario_it_rose_in():
    # bench3's full run (2026-12-08 00:37): the county report, last, raised the peak by under a MB
    steps = [
        ("start", 139.0),
        ("home page", 139.2),
        ("search page", 146.0),
        ("search page, long tail", 153.0),
        ("API checkout", 154.0),
        ("API mixed checkout", 159.0),
        ("county income report", 159.7),
    ]
    line = run.peak_rises(steps)
    assert line.startswith("139 MB before the scenarios; rose most in: search page, long tail +7.0; search page +6.8")
    assert "API mixed checkout +5.0" in line and "county" not in line and "home page" not in line
    assert line.endswith("; 1 more +0.7")
    assert (
        run.peak_rises([("start", 139.0), ("home page", 139.0)]) == "139 MB before the scenarios, no scenario raised it"
    )
