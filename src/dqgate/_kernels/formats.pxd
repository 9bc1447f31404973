# The cdef API of formats.pyx: one checker per format, each taking the bytes of one
# value and returning a Status. They never raise and never touch Python objects, so
# any nogil loop (here or in another .pyx) can call them.

from dqgate._kernels._types cimport byte_t, index_t

cdef enum Status:
    INVALID = 0
    VALID = 1
    MALFORMED = -1    # Arrow offsets decrease or point outside the data buffer

# Format codes: the position of the name in formats.FORMATS.
cdef enum FormatCode:
    F_EMAIL = 0
    F_UUID = 1
    F_URL = 2
    F_IPV4 = 3
    F_IPV6 = 4
    F_ISO_DATE = 5
    F_ISO_DATETIME = 6
    F_LUHN = 7
    F_IBAN = 8
    F_JSON = 9
    N_FORMATS = 10

cdef int email_ok(const byte_t* s, index_t n) noexcept nogil
cdef int uuid_ok(const byte_t* s, index_t n) noexcept nogil
cdef int url_ok(const byte_t* s, index_t n) noexcept nogil
cdef int ipv4_ok(const byte_t* s, index_t n) noexcept nogil
cdef int ipv6_ok(const byte_t* s, index_t n) noexcept nogil
cdef int iso_date_ok(const byte_t* s, index_t n) noexcept nogil
cdef int iso_datetime_ok(const byte_t* s, index_t n) noexcept nogil
cdef int luhn_ok(const byte_t* s, index_t n) noexcept nogil
cdef int iban_ok(const byte_t* s, index_t n) noexcept nogil
cdef int json_ok(const byte_t* s, index_t n) noexcept nogil
cdef int check_format(int fmt, const byte_t* s, index_t n) noexcept nogil


cdef inline bint bit_is_set(const byte_t* bits, index_t i) noexcept nogil:
    # Arrow bitmaps are LSB-first. Inline here (not in a .pyx) so that every
    # kernel that reads a validity or boolean bitmap gets it without a call.
    return (bits[i >> 3] >> (i & 7)) & 1
