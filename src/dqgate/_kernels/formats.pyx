"""Format validators over the raw buffers of Arrow string arrays.

Each format is a hand-written state machine over the UTF-8 bytes of one value, run
for every row inside ``with nogil:``. ``reference.py`` implements exactly the same
rules in plain Python; the test suite compares the two on random bytes. Every
format except ``json`` is ASCII-only, so any byte >= 0x80 makes a value invalid.

The rules, byte for byte:

email
    ``LOCAL "@" DOMAIN``, at most 254 bytes in all. LOCAL is 1..64 bytes of
    ``[A-Za-z0-9._%+-]`` (dots anywhere, even leading or doubled). DOMAIN is two or
    more labels separated by single dots; a label is ``[A-Za-z0-9-]+`` and the last
    one (the TLD) is ``[A-Za-z]{2,}``. Against the common regex
    ``^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$`` this additionally rejects
    empty domain labels (``a@b..com``, ``a@.b.com``), a local part over 64 bytes
    and a total over 254 bytes; it accepts nothing the regex rejects.
uuid
    36 bytes, ``8-4-4-4-12`` hex digits (either case), hyphens required. No braces,
    no ``urn:uuid:`` prefix; any version and variant.
url
    ``SCHEME "://" HOST [":" PORT] [REST]``. SCHEME is ``http``, ``https`` or
    ``ftp`` in any case. HOST is ``[A-Za-z0-9.-]+`` or ``"[" ipv6 "]"`` (the
    ipv6 rule below). PORT is 1..5 ASCII digits (not range-checked). REST starts
    with ``/``, ``?`` or ``#`` and is printable ASCII without space (0x21..0x7E).
    No user-info (``user@host``).
ipv4
    Four decimal octets joined by dots; each 1..3 digits, value 0..255, no leading
    zero except the octet ``0`` itself.
ipv6
    RFC 4291 section 2.2 text form: eight groups of 1..4 hex digits (either case)
    joined by single colons; or one ``::`` standing for one or more zero groups,
    with at most seven explicit groups; the last two groups may be written as an
    embedded ipv4 address (``::ffff:1.2.3.4``). No zone id (``%eth0``), no brackets,
    no prefix length.
iso_date
    ``YYYY-MM-DD``, exactly 10 bytes, year 0001..9999, month 01..12, day valid for
    the month in the proleptic Gregorian calendar (29 February only in leap years).
iso_datetime
    iso_date, then ``T`` or one space, then ``HH:MM`` with hours 00..23 and minutes
    00..59, then optionally ``:SS`` (00..59) followed optionally by ``.`` and 1..9
    digits, then optionally ``Z`` or ``+HH:MM`` / ``-HH:MM`` (00..23, 00..59).
    ``T`` and ``Z`` are upper case; no leap second ``60``.
luhn
    12..19 ASCII digits, no spaces or hyphens, whose Luhn checksum is 0 mod 10.
iban
    15..34 bytes: two upper-case letters, two digits, then 11..30 upper-case
    letters or digits; moving the first four to the end and reading letters as
    10..35 gives a number that is 1 mod 97. No spaces, no per-country length table.
json
    An RFC 8259 JSON text: one value of any type with optional whitespace
    (space, tab, LF, CR) around it. Strings must be valid UTF-8 (no overlong
    forms, no encoded surrogates, nothing above U+10FFFF) without raw control
    characters; any ``\\uXXXX`` escape is accepted, lone surrogates included.
    ``NaN``/``Infinity``, a byte-order mark, comments and trailing commas are
    invalid. Objects and arrays may nest at most 512 deep.
"""

from libc.string cimport memcmp

from dqgate._kernels._types cimport byte_t, class_t, index_t, int64_t, offset_t

FORMATS = ("email", "uuid", "url", "ipv4", "ipv6", "iso_date", "iso_datetime", "luhn", "iban", "json")

# Character classes, one bit each, looked up through CLS[byte].
cdef enum:
    C_DIGIT = 1
    C_HEX = 2
    C_ALPHA = 4
    C_UPPER_ALNUM = 8   # [A-Z0-9]
    C_LOCAL = 16        # email local part [A-Za-z0-9._%+-]
    C_LABEL = 32        # domain label [A-Za-z0-9-]
    C_HOST = 64         # url host and email domain [A-Za-z0-9.-]
    C_PRINT = 128       # 0x21..0x7E
    C_DOT = 256         # '.'
    C_NOT_DIGIT = 512   # anything but [0-9]
    C_NOT_HEX = 1024    # anything but [0-9A-Fa-f]

cdef class_t CLS[256]
cdef byte_t LUHN_PLAIN[256]     # the digit a byte stands for (0 for a non-digit)
cdef byte_t LUHN_DOUBLED[256]   # the digit sum of twice that digit
cdef byte_t EMPTY[1]            # what `data` points at when the data buffer is empty
cdef int DAYS_IN_MONTH[13]


cdef void _init_tables() noexcept:
    cdef int c, k
    for c in range(256):
        digit, upper, lower = 0x30 <= c <= 0x39, 0x41 <= c <= 0x5A, 0x61 <= c <= 0x7A
        k = 0
        if digit:
            k |= C_DIGIT | C_HEX | C_UPPER_ALNUM | C_LOCAL | C_LABEL | C_HOST
        else:
            k |= C_NOT_DIGIT
        if upper or lower:
            k |= C_ALPHA | C_LOCAL | C_LABEL | C_HOST
        if upper:
            k |= C_UPPER_ALNUM
        if 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66:
            k |= C_HEX
        if not k & C_HEX:
            k |= C_NOT_HEX
        if c in b"._%+-":
            k |= C_LOCAL
        if c == 0x2D:
            k |= C_LABEL | C_HOST
        if c == 0x2E:
            k |= C_HOST | C_DOT
        if 0x21 <= c <= 0x7E:
            k |= C_PRINT
        CLS[c] = k
        LUHN_PLAIN[c] = c - 0x30 if digit else 0
        LUHN_DOUBLED[c] = (2 * LUHN_PLAIN[c]) % 10 + (2 * LUHN_PLAIN[c]) // 10
    EMPTY[0] = 0
    for c, k in enumerate((0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)):
        DAYS_IN_MONTH[c] = k


_init_tables()


cdef inline bint is_cls(byte_t c, class_t cls) noexcept nogil:
    return (CLS[c] & cls) != 0


cdef inline int two_digits(const byte_t* s) noexcept nogil:
    # 00..99, or -1 when either byte is not a digit.
    cdef unsigned int a = s[0] - 48u, b = s[1] - 48u
    if a > 9 or b > 9:
        return -1
    return <int>(a * 10 + b)


cdef int email_ok(const byte_t* s, index_t n) noexcept nogil:
    # Mispredicted branches, not bytes, are what cost on short strings, so after
    # the local part the domain is checked in one branch-free pass.
    cdef index_t i = 0, at, last_dot
    cdef class_t c, domain = C_HOST, alpha = C_ALPHA, prev_dot = C_DOT, doubled = 0
    if n < 6 or n > 254:                  # shortest: a@b.cc
        return INVALID
    while i < n and is_cls(s[i], C_LOCAL):
        i += 1
    if i == 0 or i > 64 or i == n or s[i] != 64:   # '@'
        return INVALID
    at = last_dot = i
    for i in range(at + 1, n):
        c = CLS[s[i]]
        domain &= c
        doubled |= c & prev_dot           # '@.', '..': an empty label
        prev_dot = c & C_DOT
        last_dot = i if prev_dot else last_dot
    if not domain or doubled or prev_dot or last_dot == at or n - last_dot < 3:
        return INVALID
    for i in range(last_dot + 1, n):
        alpha &= CLS[s[i]]
    return VALID if alpha else INVALID


cdef int uuid_ok(const byte_t* s, index_t n) noexcept nogil:
    cdef index_t i
    cdef class_t seen = 0                 # OR of the classes of all hex positions
    if n != 36 or s[8] != 45 or s[13] != 45 or s[18] != 45 or s[23] != 45:
        return INVALID
    for i in range(8):
        seen |= CLS[s[i]]
    for i in range(9, 13):
        seen |= CLS[s[i]] | CLS[s[i + 5]] | CLS[s[i + 10]]
    for i in range(24, 36):
        seen |= CLS[s[i]]
    return INVALID if seen & C_NOT_HEX else VALID


cdef int url_ok(const byte_t* s, index_t n) noexcept nogil:
    cdef index_t i, j
    # scheme, case-insensitive: `c | 0x20` lower-cases a letter and maps no other byte onto one
    if n >= 4 and s[0] | 0x20 == 104 and s[1] | 0x20 == 116 and s[2] | 0x20 == 116 and s[3] | 0x20 == 112:
        i = 5 if n >= 5 and s[4] | 0x20 == 115 else 4          # http / https
    elif n >= 3 and s[0] | 0x20 == 102 and s[1] | 0x20 == 116 and s[2] | 0x20 == 112:
        i = 3                                                    # ftp
    else:
        return INVALID
    if n - i < 4 or s[i] != 58 or s[i + 1] != 47 or s[i + 2] != 47:   # "://" and one host byte
        return INVALID
    i += 3
    if s[i] == 91:                        # '[' ipv6 ']'
        j = i + 1
        while j < n and s[j] != 93:
            j += 1
        if j == n or ipv6_ok(s + i + 1, j - i - 1) != VALID:
            return INVALID
        i = j + 1
    else:
        j = i
        while i < n and is_cls(s[i], C_HOST):
            i += 1
        if i == j:
            return INVALID
    if i < n and s[i] == 58:              # ':' port
        i += 1
        j = i
        while i < n and is_cls(s[i], C_DIGIT):
            i += 1
        if i == j or i - j > 5:
            return INVALID
    if i == n:
        return VALID
    if s[i] != 47 and s[i] != 63 and s[i] != 35:   # '/', '?', '#'
        return INVALID
    while i < n:
        if not is_cls(s[i], C_PRINT):
            return INVALID
        i += 1
    return VALID


cdef int ipv4_ok(const byte_t* s, index_t n) noexcept nogil:
    cdef index_t i = 0, j
    cdef int part, value
    if n < 7 or n > 15:
        return INVALID
    for part in range(4):
        if part > 0:
            if i == n or s[i] != 46:
                return INVALID
            i += 1
        j = i
        value = 0
        while i < n and i - j < 4 and is_cls(s[i], C_DIGIT):
            value = value * 10 + (s[i] - 48)
            i += 1
        if i == j or i - j > 3 or value > 255 or (i - j > 1 and s[j] == 48):
            return INVALID
    return VALID if i == n else INVALID


cdef int ipv6_ok(const byte_t* s, index_t n) noexcept nogil:
    cdef index_t i = 0, j
    cdef int groups = 0
    cdef bint compressed = False
    if n < 2 or n > 45:                   # longest: six full groups + a 15-byte ipv4
        return INVALID
    if s[0] == 58:
        if s[1] != 58:
            return INVALID
        compressed = True
        i = 2
        if i == n:
            return VALID                  # "::"
    while True:
        j = i
        while i < n and i - j < 5 and is_cls(s[i], C_HEX):
            i += 1
        if i < n and s[i] == 46:          # '.': this piece is the trailing ipv4
            if ipv4_ok(s + j, n - j) != VALID:
                return INVALID
            groups += 2
            break
        if i == j or i - j > 4:
            return INVALID
        groups += 1
        if i == n:
            break
        if s[i] != 58 or groups > 8:
            return INVALID
        i += 1
        if i == n:
            return INVALID                # trailing single colon
        if s[i] == 58:
            if compressed:
                return INVALID
            compressed = True
            i += 1
            if i == n:
                break
    if compressed:
        return VALID if groups <= 7 else INVALID
    return VALID if groups == 8 else INVALID


cdef inline int date_prefix_ok(const byte_t* s) noexcept nogil:
    # The first 10 bytes of s are a valid YYYY-MM-DD.
    cdef int hi = two_digits(s), lo = two_digits(s + 2), month, day, year
    if hi < 0 or lo < 0 or s[4] != 45 or s[7] != 45:
        return INVALID
    year = hi * 100 + lo
    month = two_digits(s + 5)
    day = two_digits(s + 8)
    if year == 0 or month < 1 or month > 12 or day < 1:
        return INVALID
    if month == 2 and day == 29:
        return VALID if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else INVALID
    return VALID if day <= DAYS_IN_MONTH[month] else INVALID


cdef inline bint hh_mm_ok(const byte_t* s) noexcept nogil:
    # The first 5 bytes of s are HH:MM.
    cdef int hh = two_digits(s), mm = two_digits(s + 3)
    return s[2] == 58 and 0 <= hh <= 23 and 0 <= mm <= 59


cdef int iso_date_ok(const byte_t* s, index_t n) noexcept nogil:
    if n != 10:
        return INVALID
    return date_prefix_ok(s)


cdef int iso_datetime_ok(const byte_t* s, index_t n) noexcept nogil:
    cdef index_t i = 16, j
    cdef int ss
    if n < 16 or n > 35 or date_prefix_ok(s) != VALID or (s[10] != 84 and s[10] != 32):
        return INVALID
    if not hh_mm_ok(s + 11):
        return INVALID
    if i < n and s[i] == 58:              # ':SS'
        if n - i < 3:
            return INVALID
        ss = two_digits(s + i + 1)
        if ss < 0 or ss > 59:
            return INVALID
        i += 3
        if i < n and s[i] == 46:          # '.fraction'
            i += 1
            j = i
            while i < n and i - j < 10 and is_cls(s[i], C_DIGIT):
                i += 1
            if i == j or i - j > 9:
                return INVALID
    if i == n:
        return VALID
    if s[i] == 90:                        # 'Z'
        return VALID if i + 1 == n else INVALID
    if (s[i] == 43 or s[i] == 45) and n - i == 6 and hh_mm_ok(s + i + 1):
        return VALID
    return INVALID


cdef int luhn_ok(const byte_t* s, index_t n) noexcept nogil:
    # Table lookups instead of `if digit > 4`: that branch is a coin flip per digit.
    cdef index_t i
    cdef unsigned int total = 0, not_digit = 0
    if n < 12 or n > 19:
        return INVALID
    for i in range(n):
        not_digit |= CLS[s[i]] & C_NOT_DIGIT
    for i in range(n - 1, -1, -2):
        total += LUHN_PLAIN[s[i]]
    for i in range(n - 2, -1, -2):
        total += LUHN_DOUBLED[s[i]]
    return VALID if not_digit == 0 and total % 10 == 0 else INVALID


cdef inline unsigned int mod97_step(unsigned int r, byte_t c) noexcept nogil:
    if c <= 57:
        return (r * 10 + (c - 48)) % 97
    return (r * 100 + (c - 55)) % 97      # 'A' -> 10 .. 'Z' -> 35


cdef int iban_ok(const byte_t* s, index_t n) noexcept nogil:
    cdef index_t i
    cdef unsigned int r = 0
    if n < 15 or n > 34:
        return INVALID
    if not (65 <= s[0] <= 90 and 65 <= s[1] <= 90 and is_cls(s[2], C_DIGIT) and is_cls(s[3], C_DIGIT)):
        return INVALID
    for i in range(4, n):
        if not is_cls(s[i], C_UPPER_ALNUM):
            return INVALID
        r = mod97_step(r, s[i])
    for i in range(4):
        r = mod97_step(r, s[i])
    return VALID if r == 1 else INVALID


# --- json ---------------------------------------------------------------------

cdef enum:
    J_VALUE = 0         # a value must follow
    J_FIRST_ITEM = 1    # just after '[': a value or ']'
    J_KEY = 2           # an object key must follow
    J_FIRST_KEY = 3     # just after '{': a key or '}'
    J_AFTER = 4         # a value just ended
    JSON_MAX_DEPTH = 512


cdef inline index_t skip_ws(const byte_t* s, index_t i, index_t n) noexcept nogil:
    while i < n and (s[i] == 32 or s[i] == 10 or s[i] == 13 or s[i] == 9):
        i += 1
    return i


cdef inline index_t utf8_end(const byte_t* s, index_t i, index_t n) noexcept nogil:
    # s[i] >= 0x80 starts a multi-byte sequence: the index just after it, or -1.
    cdef byte_t c = s[i], lo = 0x80, hi = 0xBF
    cdef index_t need, k
    if 0xC2 <= c <= 0xDF:
        need = 1
    elif 0xE0 <= c <= 0xEF:
        need = 2
        if c == 0xE0:
            lo = 0xA0                     # no overlong forms
        elif c == 0xED:
            hi = 0x9F                     # no surrogates
    elif 0xF0 <= c <= 0xF4:
        need = 3
        if c == 0xF0:
            lo = 0x90
        elif c == 0xF4:
            hi = 0x8F                     # nothing above U+10FFFF
    else:
        return -1
    if n - i <= need or s[i + 1] < lo or s[i + 1] > hi:
        return -1
    for k in range(2, need + 1):
        if s[i + k] & 0xC0 != 0x80:
            return -1
    return i + need + 1


cdef index_t scan_string(const byte_t* s, index_t i, index_t n) noexcept nogil:
    # s[i] is the opening quote: the index just after the closing one, or -1.
    cdef byte_t c
    i += 1
    while i < n:
        c = s[i]
        if c == 34:
            return i + 1
        if c == 92:                       # backslash
            if i + 1 == n:
                return -1
            c = s[i + 1]
            if c == 117:                  # \uXXXX
                if n - i < 6 or not (is_cls(s[i + 2], C_HEX) and is_cls(s[i + 3], C_HEX)
                                     and is_cls(s[i + 4], C_HEX) and is_cls(s[i + 5], C_HEX)):
                    return -1
                i += 6
            elif c == 34 or c == 92 or c == 47 or c == 98 or c == 102 or c == 110 or c == 114 or c == 116:
                i += 2
            else:
                return -1
        elif c < 0x20:
            return -1
        elif c < 0x80:
            i += 1
        else:
            i = utf8_end(s, i, n)
            if i < 0:
                return -1
    return -1


cdef index_t scan_digits(const byte_t* s, index_t i, index_t n) noexcept nogil:
    while i < n and is_cls(s[i], C_DIGIT):
        i += 1
    return i


cdef index_t scan_number(const byte_t* s, index_t i, index_t n) noexcept nogil:
    # s[i] is '-' or a digit: the index just after the number, or -1.
    cdef index_t j
    if s[i] == 45:
        i += 1
    if i == n or not is_cls(s[i], C_DIGIT):
        return -1
    i = i + 1 if s[i] == 48 else scan_digits(s, i, n)
    if i < n and s[i] == 46:              # fraction
        j = i + 1
        i = scan_digits(s, j, n)
        if i == j:
            return -1
    if i < n and s[i] | 0x20 == 101:      # exponent
        i += 1
        if i < n and (s[i] == 43 or s[i] == 45):
            i += 1
        j = i
        i = scan_digits(s, j, n)
        if i == j:
            return -1
    return i


cdef inline index_t scan_literal(const byte_t* s, index_t i, index_t n, const char* word, index_t size) noexcept nogil:
    if n - i < size or memcmp(s + i, word, size) != 0:
        return -1
    return i + size


cdef int json_ok(const byte_t* s, index_t n) noexcept nogil:
    # An explicit stack instead of recursion: stack[d] is 1 for an object, 0 for an array.
    cdef byte_t stack[JSON_MAX_DEPTH]
    cdef index_t depth = 0, i = 0
    cdef int state = J_VALUE
    cdef byte_t c
    while True:
        i = skip_ws(s, i, n)
        if state == J_AFTER:
            if depth == 0:
                return VALID if i == n else INVALID
            if i == n:
                return INVALID
            c = s[i]
            i += 1
            if c == 44:                   # ','
                state = J_KEY if stack[depth - 1] else J_VALUE
            elif c == (125 if stack[depth - 1] else 93):
                depth -= 1
            else:
                return INVALID
            continue
        if i == n:
            return INVALID
        c = s[i]
        if state == J_KEY or state == J_FIRST_KEY:
            if c == 125 and state == J_FIRST_KEY:     # '{}'
                depth -= 1
                i += 1
                state = J_AFTER
                continue
            if c != 34:
                return INVALID
            i = scan_string(s, i, n)
            if i < 0:
                return INVALID
            i = skip_ws(s, i, n)
            if i == n or s[i] != 58:      # ':'
                return INVALID
            i += 1
            state = J_VALUE
            continue
        if c == 93 and state == J_FIRST_ITEM:         # '[]'
            depth -= 1
            i += 1
            state = J_AFTER
            continue
        if c == 123 or c == 91:
            if depth == JSON_MAX_DEPTH:
                return INVALID
            stack[depth] = c == 123
            depth += 1
            i += 1
            state = J_FIRST_KEY if c == 123 else J_FIRST_ITEM
            continue
        if c == 34:
            i = scan_string(s, i, n)
        elif c == 45 or is_cls(c, C_DIGIT):
            i = scan_number(s, i, n)
        elif c == 116:
            i = scan_literal(s, i, n, "true", 4)
        elif c == 102:
            i = scan_literal(s, i, n, "false", 5)
        elif c == 110:
            i = scan_literal(s, i, n, "null", 4)
        else:
            return INVALID
        if i < 0:
            return INVALID
        state = J_AFTER


cdef int check_format(int fmt, const byte_t* s, index_t n) noexcept nogil:
    if fmt == F_EMAIL:
        return email_ok(s, n)
    if fmt == F_UUID:
        return uuid_ok(s, n)
    if fmt == F_URL:
        return url_ok(s, n)
    if fmt == F_IPV4:
        return ipv4_ok(s, n)
    if fmt == F_IPV6:
        return ipv6_ok(s, n)
    if fmt == F_ISO_DATE:
        return iso_date_ok(s, n)
    if fmt == F_ISO_DATETIME:
        return iso_datetime_ok(s, n)
    if fmt == F_LUHN:
        return luhn_ok(s, n)
    if fmt == F_IBAN:
        return iban_ok(s, n)
    if fmt == F_JSON:
        return json_ok(s, n)
    return INVALID


# --- entry points --------------------------------------------------------------
# Both take one Arrow string array as its buffers (validity may be empty: no
# nulls), the array's offset, and a row range [start, stop) so that callers can
# split one array across threads. Arguments are checked here, with the GIL; the
# loop then runs without it.

cdef void _check_args(int fmt, index_t n_offsets, index_t n_validity, index_t offset,
                      index_t start, index_t stop) except *:
    if not 0 <= fmt < N_FORMATS:
        raise ValueError(f"format code {fmt} is not in 0..{N_FORMATS - 1}")
    if offset < 0 or not 0 <= start <= stop:
        raise ValueError(f"bad row range: offset={offset} start={start} stop={stop}")
    if n_offsets < offset + stop + 1:
        raise ValueError(f"offsets buffer holds {n_offsets} entries, rows need {offset + stop + 1}")
    if n_validity and n_validity * 8 < offset + stop:
        raise ValueError(f"validity bitmap of {n_validity} bytes is too short for {offset + stop} rows")


def count_range(
    int fmt,
    const offset_t[::1] offsets,
    const byte_t[::1] data,
    const byte_t[::1] validity,
    index_t offset,
    index_t start,
    index_t stop,
):
    """Count the invalid and the non-null values among rows ``start..stop``.

    Args:
        fmt: Index of the format in ``FORMATS``.
        offsets: The array's offsets buffer (int32 or int64, not sliced).
        data: The array's UTF-8 data buffer.
        validity: The array's validity bitmap, or empty when it has no nulls.
        offset: The array's offset into its buffers.
        start: First row (relative to the array) to check.
        stop: One past the last row to check.

    Returns:
        ``(invalid, non_null)``.

    Raises:
        ValueError: On arguments that do not describe a string array, or offsets
            that point outside the data buffer.
    """
    cdef index_t dlen = data.shape[0], i, a, b
    cdef int64_t bad = 0, nonnull = 0
    cdef int status = VALID
    cdef const offset_t* offs
    cdef const byte_t* dat = &data[0] if dlen else EMPTY
    cdef const byte_t* valid = &validity[0] if validity.shape[0] else NULL
    _check_args(fmt, offsets.shape[0], validity.shape[0], offset, start, stop)
    offs = &offsets[offset]
    with nogil:
        for i in range(start, stop):
            if valid != NULL and not bit_is_set(valid, offset + i):
                continue
            a = offs[i]
            b = offs[i + 1]
            if a < 0 or b < a or b > dlen:
                status = MALFORMED
                break
            nonnull += 1
            if check_format(fmt, dat + a, b - a) != VALID:
                bad += 1
    if status == MALFORMED:
        raise ValueError("corrupt string array: offsets decrease or point outside the data buffer")
    return bad, nonnull


def valid_range(
    int fmt,
    const offset_t[::1] offsets,
    const byte_t[::1] data,
    const byte_t[::1] validity,
    index_t offset,
    index_t start,
    index_t stop,
    byte_t[::1] out_values,
    byte_t[::1] out_validity,
):
    """Write the validity of rows ``start..stop`` as Arrow bitmaps (bit i = row i).

    Args:
        fmt: Index of the format in ``FORMATS``.
        offsets: The array's offsets buffer (int32 or int64, not sliced).
        data: The array's UTF-8 data buffer.
        validity: The array's validity bitmap, or empty when it has no nulls.
        offset: The array's offset into its buffers.
        start: First row to check; a multiple of 8, so that ranges written by
            different threads never share a byte.
        stop: One past the last row to check.
        out_values: Result bitmap: 1 where the value is valid, 0 where it is
            invalid or null.
        out_validity: Result null bitmap, written only when ``validity`` is not
            empty (the input's nulls, shifted to offset 0).

    Raises:
        ValueError: On bad arguments, or offsets outside the data buffer.
    """
    cdef index_t dlen = data.shape[0], i, a, b
    cdef int status = VALID
    cdef byte_t flag
    cdef const offset_t* offs
    cdef const byte_t* dat = &data[0] if dlen else EMPTY
    cdef const byte_t* valid = &validity[0] if validity.shape[0] else NULL
    _check_args(fmt, offsets.shape[0], validity.shape[0], offset, start, stop)
    if start % 8:
        raise ValueError(f"start={start} is not a multiple of 8")
    if out_values.shape[0] * 8 < stop or (valid != NULL and out_validity.shape[0] * 8 < stop):
        raise ValueError(f"output bitmaps are too short for {stop} rows")
    offs = &offsets[offset]
    with nogil:
        for i in range(start >> 3, (stop + 7) >> 3):
            out_values[i] = 0
            if valid != NULL:
                out_validity[i] = 0
        for i in range(start, stop):
            if valid != NULL:
                if not bit_is_set(valid, offset + i):
                    continue
                out_validity[i >> 3] |= 1 << (i & 7)
            a = offs[i]
            b = offs[i + 1]
            if a < 0 or b < a or b > dlen:
                status = MALFORMED
                break
            flag = check_format(fmt, dat + a, b - a) == VALID
            out_values[i >> 3] |= flag << (i & 7)
    if status == MALFORMED:
        raise ValueError("corrupt string array: offsets decrease or point outside the data buffer")
