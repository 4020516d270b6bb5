"""Request bodies too large to hold in memory go to a temporary file first."""

from __future__ import annotations

import os
import tempfile


def spool_file(suffix: str) -> str:
    """A new, empty temporary file's path (the caller removes it)."""
    handle, name = tempfile.mkstemp(prefix="commonshelf-upload-", suffix=suffix)
    os.close(handle)
    return name
