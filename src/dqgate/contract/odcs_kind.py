"""Whether a contract file is an ODCS v3 document, told from two top-level keys.

Every ``dq check`` and ``dq lint`` asks this of its contract; it lives apart from
``odcs.py`` (the translation, with the standard's pydantic models) so a dqgate
contract never pays for importing the ODCS machinery.
"""

from __future__ import annotations

import re
from typing import Any

_API_VERSION = re.compile(r"^v?3\.\d+\.\d+")


def is_odcs(value: Any) -> bool:
    """Whether a loaded YAML value is an ODCS v3 data contract."""
    return (
        isinstance(value, dict)
        and value.get("kind") == "DataContract"
        and isinstance(value.get("apiVersion"), str)
        and bool(_API_VERSION.match(value["apiVersion"]))
    )
