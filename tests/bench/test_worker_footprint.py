"""What a preloaded web process holds (issue #9: a web worker's RSS < 150 MB).

A worker's RSS counts every page it shares with the gunicorn master, so what the master imports
is what each worker holds. This runs the master's part (`import wsgi`, then bench/gunicorn.conf.py's
`when_ready` warm-up) in a fresh interpreter, on an index another process (the writer) wrote, and
lists the large libraries only other processes need: pypinyin (~50 MB, the index writer's), jieba's
own dictionary (~60 MB: queries are cut with the index's vocabulary, `search.segmenter`), alembic
(~11 MB, `flask db`), cryptography (~10 MB, household data), openpyxl and stripe, and the demo data
(`flask seed-demo`). jieba imports `pkg_resources` (~5 MB) whenever it is installed; setuptools 82 and
later no longer ship it, and requirements.txt pins such a setuptools.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import wsgi
from search import index as search
with wsgi.app.app_context():
    eng = search.engine()
    docs = [search.product_doc(id=1, name="南安板鸭1只", village="东湖村", description="传统工艺腌制风干板鸭。"),
            search.product_doc(id=2, name="三江腌菜500克", village="柳溪村", description="咸香下饭。")]
    eng.save_pinyin([d["name"] for d in docs], replace=True)
    eng.write(lambda w: [w.add_document(**d) for d in docs], create=True)
"""

PROBE = """
import json, sys
import wsgi
from search import index as search
with wsgi.app.app_context():
    search.warm_up()
    tk = search.engine().segmenter()
    words = tk.lcut("南安板鸭三江腌菜")
    found = search.search_ids("banya")
import jieba
heavy = ["pypinyin", "alembic", "flask_migrate", "cryptography", "stripe", "openpyxl", "demo.data", "pkg_resources"]
rss = next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmRSS:"))
print(json.dumps({
    "loaded": [m for m in heavy if m in sys.modules],
    "default_dict_entries": len(getattr(jieba.dt, "FREQ", None) or {}),
    "query_dict_entries": len(tk.FREQ),
    "words": words,
    "found": found,
    "rss_mb": rss,
}))
"""


def test_a_preloaded_web_process_holds_none_of_the_large_libraries_it_does_not_use(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "SECRET_KEY": "footprint-test",
    }
    for script in (WRITER, PROBE):
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    assert found["default_dict_entries"] == 0  # jieba's own dictionary never loaded
    assert 0 < found["query_dict_entries"] < 5_000  # the index's words and the user dictionary
    assert found["words"] == ["南安板鸭", "三江腌菜"]  # the user dictionary is in
    assert found["found"] == [1]
    assert found["rss_mb"] < 150, found
