"""Index writes: a single writer at a time, and racing updates never lose one another."""

from __future__ import annotations

import threading

import pytest

from search import index as search
from shop.db import commit
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_product
from tests.search.factories import make_place


def _doc(i: int, name: str) -> dict:
    return search.product_doc(id=i, name=name, village="柳溪村", township="三江镇")


def test_racing_writers_in_threads_and_engines_lose_no_update(tmp_path, jieba_loaded):
    """Threads write through two Engine objects on one folder (like two processes: separate
    process locks), so Whoosh's own lock is contended and retried; every update lands."""
    path = tmp_path / "index"
    first, second = search.Engine(str(path)), search.Engine(str(path))
    first.write(lambda w: None, create=True)
    names = ["三江腌菜", "南安板鸭", "鄱阳湖藜蒿", "土鸡蛋", "富硒大米", "无花果干", "山茶油", "笋干"]
    barrier = threading.Barrier(len(names))
    errors = []

    def worker(i: int, name: str):
        try:
            barrier.wait()
            (first if i % 2 else second).write(lambda w: w.update_document(**_doc(i + 1, name)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    for i, name in enumerate(names):
        assert search.search_ids(name, path=str(path)) == [i + 1], name


def test_a_writer_waits_for_a_held_index_lock_instead_of_failing(tmp_path, jieba_loaded):
    path = tmp_path / "index"
    eng = search.Engine(str(path))
    eng.write(lambda w: None, create=True)
    held = eng.index().writer()  # someone else holds the Whoosh lock (another process, say)
    timer = threading.Timer(0.8, held.cancel)
    timer.start()
    search.Engine(str(path)).write(lambda w: w.update_document(**_doc(7, "南安板鸭")))
    timer.join()
    assert search.search_ids("板鸭", path=str(path)) == [7]


def test_a_commit_that_fails_releases_the_index_lock_at_once(tmp_path, jieba_loaded):
    """A failed commit must not leave the Whoosh lock to the writer's garbage collection: the
    exception's traceback keeps the writer alive, and every later write would wait and fail."""
    path = tmp_path / "index"
    eng = search.Engine(str(path))
    eng.write(lambda w: None, create=True)
    squatter = None

    def add_then_block_the_commit(writer):
        nonlocal squatter
        writer.update_document(**_doc(1, "南安板鸭"))
        # a file where the commit's table of contents must go: the commit fails, as on a full disk
        squatter = path / f"_{writer.indexname}_{writer.generation}.toc"
        squatter.write_bytes(b"")

    with pytest.raises(NameError):
        eng.write(add_then_block_the_commit)
    squatter.unlink()
    # another engine (another process, say) writes at once: one try of 0.5 s, no waiting for the lock
    search.Engine(str(path)).write(lambda w: w.update_document(**_doc(2, "三江腌菜")), retries=1)
    assert search.search_ids("腌菜", path=str(path)) == [2]
    assert search.search_ids("板鸭", path=str(path)) == []  # the failed write left nothing


@requires_postgres
def test_two_racing_product_updates_through_the_task_both_land(app, committed_db, index_dir):
    from search.tasks import reindex_products

    _v1, s1 = make_place("柳溪村", "三江镇")
    a = make_product(name="三江腌菜", station=s1)
    b = make_product(name="南安板鸭", station=s1)
    commit()
    search.rebuild()
    committed_db.session.execute(
        committed_db.text("UPDATE products SET name='三江酱菜', description='' WHERE id=:i"), {"i": a.id}
    )
    committed_db.session.execute(
        committed_db.text("UPDATE products SET name='南安咸鸭', description='' WHERE id=:i"), {"i": b.id}
    )
    commit()
    race = at_once(app, [lambda pid=pid: reindex_products.delay([pid]) for pid in (a.id, b.id)], refused=(), seconds=30)
    assert race.errors == []
    assert search.search_product_ids("酱菜") == [a.id]
    assert search.search_product_ids("咸鸭") == [b.id]
    assert search.search_product_ids("板鸭") == [] and search.search_product_ids("腌菜") == []
