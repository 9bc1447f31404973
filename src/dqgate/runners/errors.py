"""Turn an engine's exception into one clear dqgate error line."""

from __future__ import annotations

import re

from dqgate.errors import DataError


def first_line(exc: BaseException) -> str:
    """The engine's message without its stack, hints and repeated prefixes."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^(\w+ )?Error: ", "", text)


def data_error(exc: BaseException, uri: str) -> DataError:
    """A DataError for an engine failure while reading ``uri``."""
    msg = first_line(exc)
    low = msg.lower()
    if "magic bytes" in low or "not a parquet file" in low or "invalid parquet" in low or "corrupt" in low:
        msg = f"not a valid Parquet file ({msg})"
    return DataError(f"{uri}: cannot read the data: {msg}", uri=uri)
