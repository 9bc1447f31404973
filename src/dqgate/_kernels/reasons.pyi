# Stub for the compiled reasons module (checked with mypy stubtest).
import numpy as np

def or_bitmap(
    out: np.ndarray,  # uint64_t[::1], updated in place
    out_start: int,
    values: np.ndarray,  # const uint8_t[::1]
    validity: np.ndarray,  # const uint8_t[::1], empty when there are no nulls
    offset: int,
    length: int,
    k: int,
) -> None: ...
def or_bytes(
    out: np.ndarray,  # uint64_t[::1], updated in place
    out_start: int,
    mask: np.ndarray,  # const uint8_t[::1]
    k: int,
) -> None: ...
