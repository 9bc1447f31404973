# Stub for the compiled formats module (checked with mypy stubtest).
import numpy as np

FORMATS: tuple[str, ...]

def count_range(
    fmt: int,
    offsets: np.ndarray,  # const int32_t[::1] or const int64_t[::1]
    data: np.ndarray,  # const uint8_t[::1]
    validity: np.ndarray,  # const uint8_t[::1], empty when there are no nulls
    offset: int,
    start: int,
    stop: int,
) -> tuple[int, int]: ...
def valid_range(
    fmt: int,
    offsets: np.ndarray,  # const int32_t[::1] or const int64_t[::1]
    data: np.ndarray,  # const uint8_t[::1]
    validity: np.ndarray,  # const uint8_t[::1], empty when there are no nulls
    offset: int,
    start: int,
    stop: int,
    out_values: np.ndarray,  # uint8_t[::1], written
    out_validity: np.ndarray,  # uint8_t[::1], written when validity is not empty
) -> None: ...
