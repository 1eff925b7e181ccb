"""JSON helpers shared by every file writer: non-finite floats as null."""

from __future__ import annotations

import numpy as np


def jsonable(obj):
    """Replace non-finite floats by None (JSON has no NaN), recursively."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
