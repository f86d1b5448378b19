"""What a preloaded web process holds (issue #9: a web worker's RSS < 150 MB).

A worker's RSS counts every page it shares with the gunicorn master, so what the master imports
is what each worker holds. This runs the master's part (`import wsgi`, then bench/gunicorn.conf.py's
`when_ready` warm-up) in a fresh interpreter and lists the large libraries only other processes need:
pypinyin (~50 MB, the index writer's), jieba's own dict and HMM table (~75 MB with pkg_resources;
catalog.segmenter packs them), alembic (~11 MB, `flask db`), cryptography (~10 MB, household data).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import wsgi
from catalog import search
with wsgi.app.app_context():
    search.warm_up()
    words = search._jb().lcut("南安板鸭三江腌菜")
import jieba.finalseg
heavy = ["pypinyin", "pkg_resources", "alembic", "flask_migrate", "cryptography", "stripe", "openpyxl", "qrcode"]
print(json.dumps({
    "loaded": [m for m in heavy if m in sys.modules],
    "jieba_dict_entries": len(getattr(sys.modules["jieba"].dt, "FREQ", {})),
    "emission": type(jieba.finalseg.emit_P["B"]).__name__,
    "words": words,
}))
"""


def test_a_preloaded_web_process_holds_none_of_the_large_libraries_it_does_not_use(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}", "CELERY_BROKER_URL": "",
           "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "footprint-test"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    assert found["jieba_dict_entries"] == 0  # jieba's module-level Tokenizer never loaded its dict
    assert found["emission"] == "EmissionTable"
    assert found["words"] == ["南安板鸭", "三江腌菜"]  # the user dictionary is in
