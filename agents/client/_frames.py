"""Results as pandas data frames, when pandas is installed (it is optional)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

__all__ = ["frame"]


def frame(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """A ``pandas.DataFrame`` of ``rows``.

    Raises:
        ImportError: pandas is not installed (one line saying how to install it).
    """
    try:
        pandas: Any = importlib.import_module("pandas")
    except ImportError:
        raise ImportError(
            "to_pandas() needs pandas: pip install pandas (or the bitrouter[notebook] extra)"
        ) from None
    return pandas.DataFrame([list(r) for r in rows], columns=list(columns))
