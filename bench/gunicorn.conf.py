"""gunicorn settings shared by the shop and the hello-world reference in a benchmark run.

`bench/run.py` sets the BENCH_* variables; the defaults are the production shape it measures:

- 2 workers on a 2-core machine: one CPU-bound Python process per core. More processes only add
  context switches and memory (PostgreSQL, Redis, Celery and the load generator share the cores).
- `gthread` workers with 4 threads each (what every published run has measured). A sync worker
  closes the connection after each response, so a load generator (or a proxy without upstream
  keep-alive) pays a TCP handshake per request: the hello ceiling falls by about half, the shop's
  pages likewise. Threads also overlap a request's waits for PostgreSQL (commits, row locks) with
  another request's Python work. `--worker-class sync` is there to compare (gunicorn itself turns
  a sync worker with threads > 1 into gthread, so the run passes 1 thread with sync).
- `preload_app`: the application (and jieba on the index's vocabulary, a few MB, warmed in
  `when_ready` below) is loaded once in the master and shared copy-on-write by the forked workers;
  `gc.freeze()` then keeps the collector from copying those shared pages into every worker. A worker's
  RSS still counts every shared page it maps, so what the master holds is what each worker holds:
  pypinyin (50 MB) is not loaded at all (the index writer saves the pinyin readers need, search/pinyin.py).
- two malloc arenas per process (`mallopt(M_ARENA_MAX, 2)`, what `MALLOC_ARENA_MAX=2` in the
  environment does): glibc otherwise gives each of a worker's threads an arena of its own, and each
  keeps its own high-water mark of freed memory (bench/README.md has the figures).
"""

import ctypes
import importlib
import json
import os
import sys

#: glibc's mallopt parameter number for the arena limit (malloc.h: M_ARENA_MAX).
M_ARENA_MAX = -8

bind = os.environ.get("BENCH_BIND", "127.0.0.1:8800")
workers = int(os.environ.get("BENCH_WORKERS", "2"))
worker_class = os.environ.get("BENCH_WORKER_CLASS", "gthread")
threads = int(os.environ.get("BENCH_THREADS", "4"))
preload_app = True
backlog = 2048
keepalive = 5
timeout = 60
graceful_timeout = 10
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = None
errorlog = os.environ.get("BENCH_ERRORLOG", "-")
loglevel = os.environ.get("BENCH_LOGLEVEL", "warning")
proc_name = os.environ.get("BENCH_PROC_NAME", "bench-gunicorn")


def _limit_malloc_arenas(count: int) -> None:
    """At most `count` malloc arenas in this process and the workers it forks (glibc only; the
    environment's MALLOC_ARENA_MAX, when set, is left as it is; 0 leaves glibc's default: 8 per core)."""
    if count <= 0 or os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, count)
    except (OSError, AttributeError):  # not glibc
        pass


_limit_malloc_arenas(int(os.environ.get("BENCH_MALLOC_ARENAS", "2")))


def when_ready(server):
    """Runs in the master after the preload and before the first fork: load jieba once here."""
    if "shop" not in sys.modules:  # the hello reference: nothing to warm
        return
    try:
        search = importlib.import_module("search.index")
        app = server.app.wsgi()
        # the query segmenter (jieba on the index's vocabulary, search.segmenter) with the user
        # dictionary, and the index's pinyin table (search.pinyin); neither jieba's own dictionary
        # nor pypinyin is loaded by a web process
        with app.app_context():
            search.warm_up()
    except Exception as exc:  # never stop the benchmark for a warm-up
        server.log.warning("jieba warm-up failed: %s", exc)
    if os.environ.get("BENCH_GC_FREEZE", "1") == "1":
        # Move everything loaded so far out of the collector's sight: its passes would otherwise write
        # to (and so copy) every shared page of the preloaded app in each worker.
        import gc

        gc.collect()
        gc.freeze()
    _release_free_heap()


def _release_free_heap() -> None:
    """Hand the heap pages freed while loading the app back to the kernel before the first fork
    (glibc keeps them otherwise: about 3 MB here, counted in the master's and every worker's RSS)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def post_fork(server, worker):
    """Note the modules the worker starts with (the master's), for `worker_exit`."""
    worker.modules_at_fork = set(sys.modules)


def worker_exit(server, worker):
    """With BENCH_WORKER_MODULES set: append to that file (one JSON line per worker) the top-level
    packages this worker imported after the fork, with their module counts — what every worker
    holds privately on top of the master's pages (bench/run.py puts them in the memory line)."""
    path = os.environ.get("BENCH_WORKER_MODULES")
    if not path:
        return
    counts: dict[str, int] = {}
    for name in set(sys.modules) - getattr(worker, "modules_at_fork", set(sys.modules)):
        top = name.split(".", 1)[0]
        counts[top] = counts.get(top, 0) + 1
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"pid": os.getpid(), "packages": counts}) + "\n")
