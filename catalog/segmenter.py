"""jieba with its tables packed: the same segmentation in about 10 MB of a process instead of about 80 MB.

jieba keeps its dictionary (349,046 words and 149,068 word prefixes with their frequencies) in a dict
of 498,113 Python strings and ints, about 60 MB, and its HMM emission table (the probability of each
character in each of the 4 states, used for words the dictionary lacks) in dicts of Python floats;
importing it also imports `pkg_resources` (about 10 MB) only to find its own files. In a gunicorn
master all of that is shared with the forked workers, but a worker's RSS counts shared pages too.

Here the same numbers are packed, and every lookup answers exactly what jieba's dicts answer, so
the words are the same (`tests/search/test_segmenter.py` compares both on real text):

- the dictionary: one string per first character holding ``"\\0" + rest of word + "\\1" + 2
  characters of frequency`` per entry, found with `str.find` (`PackedFreq`); words added later
  (`add_word`, `load_userdict`: the user dictionary, synonyms, place names) go to a plain dict;
- the HMM emission table: one `array('d')` per state indexed by code point (`EmissionTable`).

A lookup costs a `str.find` in the entries sharing the word's first character: queries do not
notice it, indexing long descriptions is a few times slower in the segmentation step.

The packed tables are built once from jieba's own files (`dict.txt`, `finalseg/prob_emit.p`) and
cached like jieba caches its own dictionary: in the temporary folder, as
`village-eline-jieba-<key>.marshal`, the key taken from jieba's version and those files' sizes and
times. Loading the cache takes a few milliseconds. `tokenizer()` is the process's instance.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import marshal
import math
import os
import pickle
import sys
import tempfile
import threading
import types
from array import array
from pathlib import Path

FORMAT = 1
_BASE = 0x100  # frequency characters: two of them, 10 bits each, from U+0100 (never "\0" or "\1")
_MAX_FREQ = 1 << 20
_HMM_STATES = "BEMS"

log = logging.getLogger(__name__)


class PackedFreq:
    """jieba's `Tokenizer.FREQ` (word or word prefix -> frequency, 0 for a bare prefix), packed.

    Supports what jieba does with its dict: `in`, `[]`, `get`, and setting words (kept apart)."""

    __slots__ = ("_buckets", "_added")

    def __init__(self, buckets: dict[str, str]):
        self._buckets = buckets
        self._added: dict[str, int] = {}

    def _packed(self, word: str):
        blob = self._buckets.get(word[:1])
        if blob is None:
            return None
        at = blob.find("\0" + word[1:] + "\1")
        if at < 0:
            return None
        at += len(word) + 1
        return ((ord(blob[at]) - _BASE) << 10) | (ord(blob[at + 1]) - _BASE)

    def get(self, word, default=None):
        value = self._added.get(word)
        if value is None:
            value = self._packed(word) if word else None
            if value is None:
                return default
        return value

    def __contains__(self, word) -> bool:
        return self.get(word) is not None

    def __getitem__(self, word) -> int:
        value = self.get(word)
        if value is None:
            raise KeyError(word)
        return value

    def __setitem__(self, word, freq) -> None:
        self._added[word] = freq

    @staticmethod
    def pack(freq: dict[str, int]) -> dict[str, str]:
        buckets: dict[str, list[str]] = {}
        for word, value in freq.items():
            if not word or not 0 <= value < _MAX_FREQ or "\0" in word or "\1" in word:
                raise ValueError(f"cannot pack {word!r}: {value}")
            buckets.setdefault(word[0], []).append(
                "\0" + word[1:] + "\1" + chr(_BASE + (value >> 10)) + chr(_BASE + (value & 0x3FF)))
        return {first: "".join(entries) for first, entries in buckets.items()}


class EmissionTable:
    """One HMM state's emission log-probabilities by character: `get(char, default)` like jieba's
    dict, from an array of doubles indexed by code point (NaN: not in the table)."""

    __slots__ = ("_values", "_other")

    def __init__(self, values: array, other: dict[str, float]):
        self._values = values
        self._other = other  # characters beyond the array (none in jieba 0.42.1's table)

    def get(self, char, default=None):
        code = ord(char)
        if code < len(self._values):
            value = self._values[code]
            return default if value != value else value
        return self._other.get(char, default)

    @staticmethod
    def pack(table: dict[str, float]) -> tuple[bytes, dict[str, float]]:
        values = array("d", [math.nan]) * 0x10000
        other = {}
        for char, value in table.items():
            if len(char) == 1 and ord(char) < 0x10000:
                values[ord(char)] = value
            else:
                other[char] = value
        return values.tobytes(), other


# ---------------------------------------------------------------------------------- building


def _jieba_dir() -> Path:
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("jieba is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def _sources() -> tuple[Path, Path]:
    root = _jieba_dir()
    return root / "dict.txt", root / "finalseg" / "prob_emit.p"


def cache_path() -> Path:
    """Where the packed tables of this jieba installation are cached."""
    parts = [str(FORMAT)]
    for path in _sources():
        st = path.stat()
        parts += [str(path), str(st.st_size), str(st.st_mtime_ns)]
    key = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"village-eline-jieba-{key}.marshal"


def build_tables() -> dict:
    """Pack jieba's dictionary and emission table from its files (about 2 s and 100 MB at the peak:
    `load` runs it in a child process, so that a long-lived process never holds jieba's dicts)."""
    dict_file, emit_file = _sources()
    with open(emit_file, "rb") as fh:
        emission = {state: EmissionTable.pack(table) for state, table in pickle.load(fh).items()}
    jieba = _import_jieba(_emission({"emission": emission}))
    with open(dict_file, "rb") as fh:
        freq, total = jieba.Tokenizer.gen_pfdict(fh)
    return {"format": FORMAT, "buckets": PackedFreq.pack(freq), "total": total, "emission": emission}


def build_cache(path: Path | None = None) -> Path:
    """Build the packed tables and write them to the cache file (`python -m catalog.segmenter`)."""
    path = path or cache_path()
    _write_cache(path, build_tables())
    return path


def _read_cache(path: Path) -> dict | None:
    try:
        with open(path, "rb") as fh:
            tables = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return tables if isinstance(tables, dict) and tables.get("format") == FORMAT else None


def _write_cache(path: Path, tables: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            marshal.dump(tables, fh)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only temporary folder: build again next time
        log.warning("jieba tables not cached at %s: %s", path, exc)
        try:
            os.unlink(tmp)
        except OSError:
            pass


# ----------------------------------------------------------------------------------- loading


def _emission(tables: dict) -> dict[str, EmissionTable]:
    out = {}
    for state, (raw, other) in tables["emission"].items():
        values = array("d")
        values.frombytes(raw)
        out[state] = EmissionTable(values, other)
    return out


def _import_jieba(emission: dict[str, EmissionTable] | None):
    """Import jieba without its emission table module (a packed one stands in) and without
    `pkg_resources` (jieba only uses it to open its own files; it falls back to plain `open`)."""
    if "jieba" not in sys.modules:
        if emission is not None:
            stub = types.ModuleType("jieba.finalseg.prob_emit")
            stub.P = emission
            sys.modules[stub.__name__] = stub
        blocked = "pkg_resources" not in sys.modules
        if blocked:
            sys.modules["pkg_resources"] = None  # `import pkg_resources` raises ImportError
        try:
            import jieba  # noqa: F401
        finally:
            if blocked and sys.modules.get("pkg_resources", 0) is None:
                del sys.modules["pkg_resources"]
    import jieba
    import jieba.finalseg

    if emission is not None:
        jieba.finalseg.emit_P = emission  # also when jieba was imported before us (same numbers)
    jieba.setLogLevel(logging.WARNING)
    return jieba


def _segmenter_class(jieba):
    class Segmenter(jieba.Tokenizer):
        """jieba's Tokenizer on packed tables; `get_DAG` looks each fragment up once and hands the
        frequencies it found to `calc` (jieba's own code looks them up three times)."""

        def get_DAG(self, sentence):
            freq = self.FREQ
            dag = _DAG()
            found = dag.freq
            n = len(sentence)
            for k in range(n):
                ends = []
                i = k
                frag = sentence[k]
                while i < n:
                    value = freq.get(frag)
                    if value is None:
                        break
                    if value:
                        ends.append(i)
                        found[(k, i)] = value
                    i += 1
                    frag = sentence[k : i + 1]
                if not ends:
                    ends.append(k)
                dag[k] = ends
            return dag

        def calc(self, sentence, DAG, route):  # noqa: N803 - jieba's signature
            found = getattr(DAG, "freq", None)
            if found is None:
                return super().calc(sentence, DAG, route)
            n = len(sentence)
            route[n] = (0, 0)
            logtotal = math.log(self.total)
            log_ = math.log
            for idx in range(n - 1, -1, -1):
                route[idx] = max((log_(found.get((idx, x)) or 1) - logtotal + route[x + 1][0], x)
                                 for x in DAG[idx])

    return Segmenter


class _DAG(dict):
    __slots__ = ("freq",)

    def __init__(self):
        super().__init__()
        self.freq: dict[tuple[int, int], int] = {}


_lock = threading.Lock()
_tokenizer = None


def tokenizer_tables() -> dict:
    """The packed tables, from the cache (built first in a child process if missing)."""
    path = cache_path()
    tables = _read_cache(path)
    if tables is None:
        _build_in_child(path)
        tables = _read_cache(path)
    if tables is None:  # no child process or no writable temporary folder: build here
        tables = build_tables()
        _write_cache(path, tables)
    return tables


def load():
    """A jieba Tokenizer on the packed tables (built and cached first if needed). Call `tokenizer()`."""
    tables = tokenizer_tables()
    jieba = _import_jieba(_emission(tables))
    tk = _segmenter_class(jieba)()
    tk.FREQ = PackedFreq(tables["buckets"])
    tk.total = tables["total"]
    tk.initialized = True
    return tk


def _build_in_child(path: Path) -> None:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        subprocess.run([sys.executable, "-m", "catalog.segmenter", str(path)], cwd=root, timeout=300,
                       check=True, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("jieba tables: building in a child process failed (%s); building here", exc)


def tokenizer():
    """This process's packed jieba Tokenizer (`cut`, `tokenize`, `cut_for_search`, `add_word`, ...)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = load()
    return _tokenizer


if __name__ == "__main__":
    print(build_cache(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
