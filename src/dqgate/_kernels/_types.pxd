# Every C type the kernels use, defined once (scikit-learn's `_typedefs.pxd` idea):
# the .pyx files cimport from here instead of re-declaring, and no numpy headers
# are needed just to name an integer width.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t

ctypedef uint8_t byte_t          # one byte of UTF-8 data or of a bitmap
ctypedef uint16_t class_t        # the character-class bits of one byte
ctypedef int32_t offset32_t      # Arrow `string` offsets
ctypedef int64_t offset64_t      # Arrow `large_string` offsets
ctypedef uint64_t code_t         # one packed reason code (bit k = rule k failed)
ctypedef Py_ssize_t index_t      # row and byte positions

# Offsets of either Arrow string layout; the `def` entry points are fused over it,
# so `string` and `large_string` both run without a copy.
ctypedef fused offset_t:
    int32_t
    int64_t
