"""Re-export: the bounded store lives in :mod:`explorer.bounded` (pure Python, used by every layer)."""

from explorer.bounded import BoundedStore as BoundedStore
