"""The bounded store: its bound holds, the least recently used entry goes first, and reading
counts as use (membership tests and iteration do not)."""

from __future__ import annotations

import pytest

from explorer.bounded import BoundedStore


def test_bound_holds_and_oldest_goes_first() -> None:
    store: BoundedStore[str, int] = BoundedStore(3, "test")
    for i, key in enumerate("abcde"):
        store[key] = i
        assert len(store) == min(i + 1, 3)
    assert list(store) == ["c", "d", "e"]
    assert "a" not in store and "b" not in store


def test_reading_refreshes_an_entry_but_membership_does_not() -> None:
    store: BoundedStore[str, int] = BoundedStore(2)
    store["a"], store["b"] = 1, 2
    assert "a" in store  # no refresh: "a" is still the oldest
    assert list(store) == ["a", "b"]
    assert store["a"] == 1  # a read: "a" becomes the newest
    store["c"] = 3
    assert list(store) == ["a", "c"]
    assert store.get("c") == 3 and store.get("b") is None
    store["a"] = 10  # overwriting refreshes too
    store["d"] = 4
    assert dict(store) == {"a": 10, "d": 4}


def test_get_or_make_makes_once_and_counts_as_use() -> None:
    made: list[str] = []
    store: BoundedStore[str, str] = BoundedStore(2)

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    assert store.get_or_make("x", lambda: make("x")) == "X"
    store["y"] = "Y"
    assert store.get_or_make("x", lambda: make("x")) == "X"  # kept: not made again, now newest
    store["z"] = "Z"  # drops "y", the least recently used
    assert made == ["x"] and list(store) == ["x", "z"]


def test_delete_clear_and_size_one() -> None:
    store: BoundedStore[int, int] = BoundedStore(1, "one")
    store[1] = 1
    store[2] = 2
    assert dict(store) == {2: 2}
    del store[2]
    assert len(store) == 0
    store[3] = 3
    store.clear()
    assert not store and "one" in repr(store)


def test_a_store_keeps_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedStore(0)


def test_a_history_keeps_the_order_of_writing_however_it_is_read() -> None:
    store: BoundedStore[str, int] = BoundedStore(2, "history", refresh_on_read=False)
    store["a"], store["b"] = 1, 2
    assert store["a"] == 1 and store.get("a") == 1 and list(store.values()) == [1, 2]
    assert list(store) == ["a", "b"]  # reads did not make "a" the newest
    store["c"] = 3  # so "a", the oldest written, goes
    assert list(store) == ["b", "c"]
    store["b"] = 20  # writing again does make it the newest
    store["d"] = 4
    assert dict(store) == {"b": 20, "d": 4}
