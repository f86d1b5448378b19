"""Any text at all is a valid query: the query is built from tokens, never parsed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import index as search


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory, jieba_loaded):
    path = str(tmp_path_factory.mktemp("fuzz") / "index")
    eng = search.Engine(path)
    docs = [
        search.product_doc(id=1, name="三江腌菜500克", village="柳溪村", township="三江镇"),
        search.product_doc(id=2, name="南安板鸭1只", village="桃花村", township="广福镇"),
        search.listing_doc(id=1, name="桃花村民宿", village="桃花村", township="广福镇"),
    ]
    eng.write(lambda w: [w.add_document(**d) for d in docs], create=True)
    return path


ALPHABET = st.sampled_from(list('*"():^~?[]{}!-+\\/ ANDORNOT腌菜板鸭村yancaiby5斤级A\x00\x1f\u200b\u3000\t\n'))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.one_of(st.text(max_size=60), st.text(ALPHABET, max_size=40)))
def test_any_text_gives_a_list_of_ids_and_safe_highlight(tiny_index, q):
    assert isinstance(search.search_ids(q, path=tiny_index), list)
    assert isinstance(search.search_ids(q, kind="listing", path=tiny_index), list)
    assert isinstance(search.suggest(q, path=tiny_index), list)
    html = str(search.highlight("<三江腌菜&板鸭>", q))
    assert "<三" not in html and "&板" not in html
