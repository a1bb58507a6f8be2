"""Reading the knowledge files: YAML through libyaml's C parser when it is there (several
times faster at start-up), the pure-Python parser otherwise; the same safe subset either way."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(source: Path | str | IO[str]) -> Any:
    """Parse a YAML file (a path) or text (a string or an open file) with the safe loader."""
    if isinstance(source, Path):
        source = source.read_text("utf-8")
    return yaml.load(source, Loader=_Loader)
