"""catalog.segmenter: jieba on packed tables cuts exactly like jieba on its own dicts."""
from __future__ import annotations

import math
import pickle

import pytest

from catalog import segmenter

TEXTS = [
    "三江腌菜500克", "南安板鸭1只", "鄱阳湖藜蒿1斤", "土鸡蛋30枚", "A级优质大米10kg", "富硒大米5斤",
    "桃花村有机鲜无花果家庭装", "柳溪村原生态三江腌菜礼盒", "芦洲村湖畔民宿171号", "南昌县蒋巷镇的农家乐",
    "散养走地鸡，每天在果园里吃虫子和青草长大，肉质紧实，适合炖汤。", "今年的新米已经到了，欢迎大家来买！",
    "我来到北京清华大学", "他来到了网易杭研大厦", "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
    "永和服装饰品有限公司", "结婚的和尚未结婚的", "江西南昌特产 黄鳝 龙虾 5斤装 包邮",
    "蛋", "", "  ", "abc123 XYZ", "ｆｕｌｌｗｉｄｔｈ　文字", "乡村e线：扶贫，助农，惠民",
]


def _with_user_words(tk):
    """The search module's user dictionary and synonyms, added the way catalog.search adds them."""
    from catalog import search

    tk.load_userdict(str(search.DICT_PATH))
    for word in sorted(search.synonyms()):
        tk.add_word(word, freq=search.WORD_FREQ)
    return tk


@pytest.fixture(scope="module")
def packed():
    return _with_user_words(segmenter.load())  # a fresh instance, not the process's


@pytest.fixture(scope="module")
def reference():
    """jieba's own Tokenizer with its full dict (the HMM table is shared module state: checked apart)."""
    import jieba

    tk = jieba.Tokenizer()
    tk.initialize()
    assert isinstance(tk.FREQ, dict) and len(tk.FREQ) > 400_000
    return _with_user_words(tk)


def _corpus():
    from catalog import search

    words = sorted(search.synonyms()) + search.DICT_PATH.read_text(encoding="utf-8").split()
    words = [w for w in words if not w.isdigit()]
    return TEXTS + ["".join(words[i : i + 7]) for i in range(0, len(words), 7)]


def test_packed_tables_cut_like_jiebas_dict(packed, reference):
    for text in _corpus():
        assert packed.lcut(text) == reference.lcut(text), text
        assert packed.lcut(text, HMM=False) == reference.lcut(text, HMM=False), text
        assert packed.lcut_for_search(text) == reference.lcut_for_search(text), text
        assert list(packed.tokenize(text, mode="search")) == list(reference.tokenize(text, mode="search")), text


def test_packed_frequencies_equal_jiebas(packed, reference):
    import random

    words = random.Random(7).sample(sorted(reference.FREQ), 20_000) + sorted(packed.FREQ._added)
    assert packed.total == reference.total
    for word in words:
        assert packed.FREQ[word] == reference.FREQ[word]
        assert word in packed.FREQ
    for absent in ["", "不存在的词语啊", "zzz", "\x00", "\x01"]:
        assert absent not in packed.FREQ and packed.FREQ.get(absent, -1) == -1
    with pytest.raises(KeyError):
        packed.FREQ["不存在的词语啊"]


def test_added_words_are_kept_apart_and_found(packed):
    freq = segmenter.PackedFreq(packed.FREQ._buckets)
    assert freq.get("乡村e线") is None
    freq["乡村e线"] = 5
    assert freq["乡村e线"] == 5 and "乡村e线" in freq


def test_packed_emission_table_equals_jiebas():
    with open(segmenter._sources()[1], "rb") as fh:
        tables = pickle.load(fh)
    packed = segmenter._emission(segmenter.tokenizer_tables())
    for state, table in tables.items():
        for char, value in table.items():
            assert packed[state].get(char, None) == value
        for code in range(0x20, 0x10000, 97):
            char = chr(code)
            if char not in table:
                assert packed[state].get(char, -3.14e100) == -3.14e100
        assert packed[state].get("\U0001F600", "x") == "x"
    import jieba.finalseg

    assert jieba.finalseg.emit_P["S"].get("蛋") == tables["S"]["蛋"]
    assert not math.isnan(packed["B"].get("中", 0.0))


def test_tables_are_built_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(segmenter.tempfile, "gettempdir", lambda: str(tmp_path))
    path = segmenter.cache_path()
    assert path.parent == tmp_path and not path.exists()
    first = segmenter.load()
    assert path.exists()
    monkeypatch.setattr(segmenter, "build_tables", lambda: pytest.fail("the cache was not used"))
    monkeypatch.setattr(segmenter, "_build_in_child", lambda p: pytest.fail("the cache was not used"))
    second = segmenter.load()
    assert second.lcut("三江腌菜礼盒") == first.lcut("三江腌菜礼盒")


def test_an_unwritable_cache_folder_still_gives_a_tokenizer(tmp_path, monkeypatch):
    monkeypatch.setattr(segmenter.tempfile, "gettempdir", lambda: str(tmp_path / "missing" / "folder"))
    monkeypatch.setattr(segmenter, "_build_in_child", lambda p: None)
    tk = segmenter.load()
    assert tk.lcut("我来到北京清华大学") == ["我", "来到", "北京", "清华大学"]
