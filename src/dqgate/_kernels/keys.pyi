# Stub for the compiled keys module (checked with mypy stubtest).
import numpy as np

def mark(
    offsets: np.ndarray,  # const uint32_t[::1]
    seen: np.ndarray,  # uint8_t[::1], updated in place
    twice: np.ndarray,  # uint8_t[::1], updated in place
    span: int,
) -> int | None: ...
