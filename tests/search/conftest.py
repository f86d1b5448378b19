"""Search test fixtures: jieba loads once per test session; each test gets a fresh index folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def jieba_loaded():
    """jieba + user dictionary, loaded once for the whole session (about 1 s)."""
    from search import index as search

    search.writer_segmenter()
    return True


@pytest.fixture
def index_dir(app, tmp_path, jieba_loaded):
    """A real, empty Whoosh index location for this test (built on first use)."""
    from search import index as search

    old = app.config["SEARCH_INDEX_DIR"]
    path = tmp_path / "index"
    app.config["SEARCH_INDEX_DIR"] = str(path)
    search.reset_engines()
    yield path
    app.config["SEARCH_INDEX_DIR"] = old
    search.reset_engines()
