"""IndexCache: a saved index is used only when it was built from what its owner asks for.

Why these cases: the cache sits beside data that changes (a catalogue, a hash list). Handing
back an index built from something else, or one whose file was damaged or replaced under its
state, would make a matcher answer from the wrong hashes; each must read as "no cache".
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mediamatch.index.cache import IndexCache, wait_for_saves
from mediamatch.index.hamming import HASH_BYTES, PDQIndex
from mediamatch.index.persist import save_index


@pytest.fixture
def index() -> PDQIndex:
    rng = np.random.default_rng(5)
    return PDQIndex.from_arrays(np.arange(1, 501, dtype=np.int64), rng.integers(0, 256, size=(500, HASH_BYTES), dtype=np.uint8))


def saved(cache: IndexCache, index: PDQIndex, state: dict[str, object]) -> None:
    cache.save(index, state).join()


def test_a_fresh_cache_is_loaded_with_its_state(tmp_path: Path, index: PDQIndex) -> None:
    cache = IndexCache(tmp_path / "deep" / "list.pdq-index")  # the folder is made
    saved(cache, index, {"source": "list-a", "last_row": 41})
    loaded = cache.load({"source": "list-a"})
    assert loaded is not None
    again, state = loaded
    assert state == {"source": "list-a", "last_row": 41, "count": 500}
    assert isinstance(again.hashes, np.memmap)
    assert again.search_many(index.hashes[:20]) == index.search_many(index.hashes[:20])
    assert [path.name for path in sorted(cache.path.parent.iterdir())] == ["list.pdq-index", "list.pdq-index.json"]  # no temp left


def test_a_cache_of_something_else_is_not_used(tmp_path: Path, index: PDQIndex) -> None:
    cache = IndexCache(tmp_path / "list.pdq-index")
    saved(cache, index, {"source": "list-a"})
    assert cache.load({"source": "list-b"}) is None
    assert cache.load({"source": "list-a", "catalogue": "x"}) is None  # a key the state lacks


def test_a_missing_corrupt_or_mismatched_cache_is_not_used(tmp_path: Path, index: PDQIndex) -> None:
    cache = IndexCache(tmp_path / "list.pdq-index")
    assert cache.load({}) is None  # nothing saved yet
    saved(cache, index, {"source": "a"})
    cache.path.write_bytes(cache.path.read_bytes()[:1000])  # cut short
    assert cache.load({"source": "a"}) is None
    save_index(PDQIndex.from_arrays(index.ids[:10], index.hashes[:10]), cache.path)  # replaced under its state
    assert cache.load({"source": "a"}) is None
    cache.state.path.write_text("not json")
    assert cache.load({"source": "a"}) is None
    cache.state.path.write_text(json.dumps(["a", "list"]))
    assert cache.load({"source": "a"}) is None


def test_the_owner_may_grow_the_index_while_it_is_saved(tmp_path: Path, index: PDQIndex) -> None:
    before = index.search_many(index.hashes[:5])
    cache = IndexCache(tmp_path / "grow.pdq-index")
    thread = cache.save(index, {"source": "a"})
    index.add(np.array([9_999]), index.hashes[:1])  # meanwhile, in the owner's thread
    index.merge()
    thread.join()
    loaded = cache.load({"source": "a"})
    assert loaded is not None and len(loaded[0]) == 500 and loaded[1]["count"] == 500
    assert loaded[0].search_many(index.hashes[:5]) == before


def test_a_save_into_a_read_only_folder_fails_quietly(tmp_path: Path, index: PDQIndex) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    cache = IndexCache(blocker / "list.pdq-index")
    cache.save(index, {"source": "a"})
    wait_for_saves()
    assert cache.load({"source": "a"}) is None
