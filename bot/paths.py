"""Where the data folders shipped with the code are: locales/ and migrations/."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def shipped(packaged: str, in_tree: str) -> Path:
    """A data folder inside the installed package (a wheel puts locales/ at bot/_locales),
    else at the top of the source tree (a checkout or an editable install)."""
    return _HERE / packaged if (_HERE / packaged).is_dir() else _HERE.parent / in_tree
