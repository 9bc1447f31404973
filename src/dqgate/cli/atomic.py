"""Write a report file whole or not at all, for `dq` commands and the compiled check's
replay alike (which runs before click is imported, so this module imports nothing heavy)."""

from __future__ import annotations

import os


def write_text(output: str, text: str) -> None:
    """Write ``text`` to ``output`` through a temporary file renamed into place: a reader
    never sees a half-written report, and a failed write leaves the old file as it was."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".dq-", dir=os.path.dirname(os.path.abspath(output)))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
