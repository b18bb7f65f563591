"""A small bounded store: a mapping that keeps at most ``max_size`` entries, least recently used
dropped first (or, as a history that reading does not reorder, the oldest written).

Session state and cached results must not grow with every image, model or click: each store
of the Feature maps page (results, private models, montages, effective fields, attributions...)
is one of these, with its bound a named constant beside the code that uses it. Pure Python (no
Streamlit), so it is tested on its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedStore(MutableMapping[K, V]):
    """An LRU mapping with a maximum size.

    Reading (``store[key]``, ``get``) or writing a key makes it the most recent; writing past
    ``max_size`` drops the least recent entries. ``key in store`` and iteration do not change
    the order (iteration runs from the least to the most recent).

    ``refresh_on_read=False`` makes it a history instead: only writing (a new key, or a key
    written again) makes an entry the newest, so the order is the order of writing and the
    oldest written goes first, however often an entry is read.
    """

    def __init__(self, max_size: int, name: str = "", *, refresh_on_read: bool = True) -> None:
        if max_size < 1:
            raise ValueError(f"A bounded store keeps at least one entry, not {max_size}.")
        self.max_size = max_size
        self.name = name  # for messages and debugging: which bound this is
        self.refresh_on_read = refresh_on_read
        self._data: OrderedDict[K, V] = OrderedDict()

    def __getitem__(self, key: K) -> V:
        value = self._data[key]
        if self.refresh_on_read:
            self._data.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)

    def __delitem__(self, key: K) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"BoundedStore({self.name or 'unnamed'}, {len(self)} of {self.max_size})"

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value stored under ``key``, made (and stored) first if it is missing."""
        if key in self._data:
            return self[key]
        value = make()
        self[key] = value
        return value
