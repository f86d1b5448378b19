"""Scale-out path (see search/index.py): two web processes share one SEARCH_INDEX_DIR. A write made
through one is seen by the other's already-open searcher, without a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as response:
        assert response.status == 200
        return json.loads(response.read())


def _post(port: int, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # the writing node loads jieba's full dictionary and pypinyin for its first index write: seconds
    # on a loaded machine
    with urllib.request.urlopen(request, timeout=90) as response:
        assert response.status == 201
        return json.loads(response.read())


@pytest.fixture
def nodes(tmp_path):
    env = dict(
        os.environ,
        NODE_DB=f"sqlite:///{tmp_path}/shop.sqlite3",
        NODE_INDEX=str(tmp_path / "index"),
        PYTHONPATH=str(ROOT),
    )
    env.pop("CELERY_BROKER_URL", None)
    subprocess.run(
        [sys.executable, "-m", "tests.search.node", "init"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.search.node", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        ports = [int(p.stdout.readline()) for p in procs]
        yield ports
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)


def quote(q: str) -> str:
    from urllib.parse import quote as q_

    return q_(q)


def test_a_write_through_one_web_process_is_seen_by_the_other(nodes):
    a, b = nodes
    # both nodes have searched already (their searchers are open and cached)
    for port in (a, b):
        assert [i["name"] for i in _get(port, f"/api/v1/products?q={quote('腌菜')}")["items"]] == ["三江腌菜500克"]
        assert _get(port, "/api/v1/search/suggest?q=banya")["items"] == []
    created = _post(a, "/_test/products", {"name": "南安板鸭1只"})
    for port in (b, a):
        body = _get(port, "/api/v1/products?q=banya")
        assert [i["id"] for i in body["items"]] == [created["id"]], port
        assert _get(port, "/api/v1/search/suggest?q=by")["items"] == [
            {"text": "南安板鸭1只", "kind": "product", "id": created["id"]}
        ]
