/*
 * dqgate_native: a DuckDB extension (C extension API, stable v1.2.0 surface) that runs
 * two row-level checks inside DuckDB's own scan threads, without Python or the GIL.
 *
 * Why: on the peerbench suite (10M rows) DuckDB's RE2 `regexp_full_match` was half of
 * the fused statement's CPU time, and uniqueness of a dense integer key needed a
 * second pass over the key column through Arrow and numpy. Python UDFs cannot help:
 * DuckDB calls them 2,048 rows at a time with the GIL held, so they run on one core.
 * Functions registered through the C API are called from every scan thread.
 *
 *   dq_dfa_match(value VARCHAR, dfa BLOB) -> BOOLEAN
 *       Full match of the value's UTF-8 bytes against a byte-level DFA table built by
 *       dqgate/compilers/regex_dfa.py (format below). NULL in, NULL out.
 *
 *   dq_key_repeats(key BIGINT, low BIGINT, span BIGINT, samples BIGINT) -> BIGINT[]
 *       Aggregate. Marks each non-NULL key in two bitmaps ("seen", "seen twice") over
 *       [low, low + span) and returns [rows whose key repeats, keys that repeat, up to
 *       `samples` smallest repeated keys...], the same answer as a GROUP BY ... HAVING
 *       count(*) > 1 summed over rows and counted. NULL when some key falls outside the span (the caller then counts
 *       with the GROUP BY): the span comes from Parquet statistics, which could lie.
 *       Each thread marks its own bitmaps (2 bits per possible key); combining ORs them.
 *
 * DFA table (all fields one unsigned byte):
 *   [0] version = 1, [1] S states (state 0 is dead), [2] C byte classes, [3] start state,
 *   [4..259] class of each byte value, [260..260+S) accepting flag per state,
 *   then S*C transitions, row-major: next = T[state * C + class].
 * The table is checked once per chunk (and whenever its address changes), so a
 * malformed table is an error, never an out-of-bounds read.
 */
#define DUCKDB_EXTENSION_NAME dqgate_native
#include "duckdb_extension.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

DUCKDB_EXTENSION_EXTERN

/* ---------------------------------------------------------------- strings */

static inline const uint8_t *str_data(duckdb_string_t *s, uint32_t *len) {
	*len = s->value.inlined.length;
	return (const uint8_t *)(*len <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr);
}

static inline int row_valid(const uint64_t *validity, idx_t row) {
	return !validity || (validity[row >> 6] >> (row & 63)) & 1;
}

/* ---------------------------------------------------------------- dq_dfa_match */

#define DFA_HEADER 260
#define WIDE_STATES 16 /* DFAs up to this many states also get the 256-wide table */

typedef struct {
	const uint8_t *classes, *accept, *next;
	uint32_t states, width;
	uint8_t start;
	/* For small DFAs: next state of (state, byte), stored as next * 256, so one step is a
	 * single load at `state + byte`, no class lookup or multiply on the dependency chain. */
	uint16_t wide[WIDE_STATES * 256];
} dfa_t;

/* Fill `d` from a table blob; 0 if the blob is not a well-formed table. */
static int dfa_open(const uint8_t *t, uint32_t len, dfa_t *d) {
	if (len < DFA_HEADER || t[0] != 1) {
		return 0;
	}
	uint32_t s = t[1], c = t[2];
	if (s < 1 || c < 1 || t[3] >= s || len != DFA_HEADER + s + s * c) {
		return 0;
	}
	for (int b = 0; b < 256; b++) {
		if (t[4 + b] >= c) {
			return 0;
		}
	}
	const uint8_t *next = t + DFA_HEADER + s;
	for (uint32_t i = 0; i < s * c; i++) {
		if (next[i] >= s) {
			return 0;
		}
	}
	d->classes = t + 4;
	d->accept = t + DFA_HEADER;
	d->next = next;
	d->states = s;
	d->width = c;
	d->start = t[3];
	if (s <= WIDE_STATES) {
		for (uint32_t st = 0; st < s; st++) {
			for (int b = 0; b < 256; b++) {
				d->wide[st * 256 + b] = (uint16_t)(next[st * c + d->classes[b]] << 8);
			}
		}
	}
	return 1;
}

static inline int dfa_run(const dfa_t *d, const uint8_t *p, uint32_t len) {
	if (d->states <= WIDE_STATES) {
		uint32_t s = (uint32_t)d->start << 8;
		const uint16_t *wide = d->wide;
		for (uint32_t i = 0; i < len; i++) {
			s = wide[s + p[i]];
			if (s == 0) {
				return 0;
			}
		}
		return d->accept[s >> 8] != 0;
	}
	uint32_t s = d->start;
	const uint8_t *classes = d->classes, *next = d->next;
	const uint32_t width = d->width;
	for (uint32_t i = 0; i < len; i++) {
		s = next[s * width + classes[p[i]]];
		if (s == 0) {
			return 0; /* the dead state never leaves or accepts */
		}
	}
	return d->accept[s] != 0;
}

static void dq_dfa_match(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
	idx_t rows = duckdb_data_chunk_get_size(input);
	duckdb_vector values = duckdb_data_chunk_get_vector(input, 0);
	duckdb_vector tables = duckdb_data_chunk_get_vector(input, 1);
	duckdb_string_t *value = (duckdb_string_t *)duckdb_vector_get_data(values);
	duckdb_string_t *table = (duckdb_string_t *)duckdb_vector_get_data(tables);
	uint64_t *value_ok = duckdb_vector_get_validity(values);
	uint64_t *table_ok = duckdb_vector_get_validity(tables);
	bool *out = (bool *)duckdb_vector_get_data(output);
	uint64_t *out_ok = NULL;
	const uint8_t *open_at = NULL; /* the blob `dfa` was read from */
	dfa_t dfa;
	dfa.states = 0;
	for (idx_t i = 0; i < rows; i++) {
		if (!row_valid(value_ok, i) || !row_valid(table_ok, i)) {
			if (!out_ok) {
				duckdb_vector_ensure_validity_writable(output);
				out_ok = duckdb_vector_get_validity(output);
			}
			duckdb_validity_set_row_invalid(out_ok, i);
			out[i] = false;
			continue;
		}
		uint32_t tlen, vlen;
		const uint8_t *t = str_data(&table[i], &tlen);
		if (t != open_at) {
			if (!dfa_open(t, tlen, &dfa)) {
				duckdb_scalar_function_set_error(info, "dq_dfa_match: malformed DFA table");
				return;
			}
			open_at = t;
		}
		const uint8_t *v = str_data(&value[i], &vlen);
		out[i] = dfa_run(&dfa, v, vlen);
	}
}

/* ---------------------------------------------------------------- dq_key_repeats */

/* The two bitmaps are interleaved word by word (bits[2w]: "seen", bits[2w+1]: "seen
 * twice") so that marking a key touches one cache line, not two: keys arrive in random
 * order and the bitmaps outgrow the L2 cache from a few million keys on. */
#define PREFETCH 64 /* rows ahead: 10M random keys, 0.29 CPU s at 64 or 128, 0.35 at 16, 0.61 without */

typedef struct {
	uint64_t *bits;
	int64_t low;
	uint64_t span;
	uint64_t rows; /* non-NULL keys marked */
	int64_t samples;
	int out_of_span;
	int failed_alloc;
} key_state;

static idx_t key_state_size(duckdb_function_info info) {
	(void)info;
	return sizeof(key_state);
}

static void key_init(duckdb_function_info info, duckdb_aggregate_state state) {
	(void)info;
	memset(state, 0, sizeof(key_state));
}

static void key_destroy(duckdb_aggregate_state *states, idx_t count) {
	for (idx_t i = 0; i < count; i++) {
		key_state *st = (key_state *)states[i];
		free(st->bits);
		st->bits = NULL;
	}
}

static int key_alloc(key_state *st, int64_t low, uint64_t span, int64_t samples) {
	size_t words = (size_t)((span + 63) >> 6);
	st->bits = (uint64_t *)calloc(2 * words, sizeof(uint64_t));
	if (!st->bits) {
		st->failed_alloc = 1;
		return 0;
	}
	st->low = low;
	st->span = span;
	st->samples = samples;
	return 1;
}

static void key_update(duckdb_function_info info, duckdb_data_chunk input, duckdb_aggregate_state *states) {
	idx_t rows = duckdb_data_chunk_get_size(input);
	duckdb_vector keys = duckdb_data_chunk_get_vector(input, 0);
	const int64_t *key = (const int64_t *)duckdb_vector_get_data(keys);
	const int64_t *low = (const int64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 1));
	const int64_t *span = (const int64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 2));
	const int64_t *samples = (const int64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 3));
	uint64_t *key_ok = duckdb_vector_get_validity(keys);
	for (idx_t i = 0; i < rows; i++) {
		key_state *st = (key_state *)states[i];
		if (i + PREFETCH < rows && st->bits) { /* the line a later key will mark */
			uint64_t ahead = (uint64_t)key[i + PREFETCH] - (uint64_t)st->low;
			if (ahead < st->span) {
				__builtin_prefetch(&st->bits[2 * (ahead >> 6)], 1);
			}
		}
		if (!row_valid(key_ok, i) || st->out_of_span || st->failed_alloc) {
			continue;
		}
		if (!st->bits) {
			if (span[i] <= 0) {
				duckdb_aggregate_function_set_error(info, "dq_key_repeats: span must be positive");
				return;
			}
			if (!key_alloc(st, low[i], (uint64_t)span[i], samples[i])) {
				continue;
			}
		}
		uint64_t k = (uint64_t)key[i] - (uint64_t)st->low;
		if (k >= st->span) {
			st->out_of_span = 1;
			continue;
		}
		uint64_t *pair = &st->bits[2 * (k >> 6)], bit = (uint64_t)1 << (k & 63);
		pair[1] |= pair[0] & bit;
		pair[0] |= bit;
		st->rows++;
	}
}

static void key_combine(duckdb_function_info info, duckdb_aggregate_state *source, duckdb_aggregate_state *target,
                        idx_t count) {
	for (idx_t i = 0; i < count; i++) {
		key_state *src = (key_state *)source[i], *dst = (key_state *)target[i];
		dst->out_of_span |= src->out_of_span;
		dst->failed_alloc |= src->failed_alloc;
		dst->rows += src->rows;
		if (!src->bits) {
			continue;
		}
		if (!dst->bits) { /* take the source's bitmaps over */
			dst->bits = src->bits;
			dst->low = src->low;
			dst->span = src->span;
			dst->samples = src->samples;
			src->bits = NULL;
			continue;
		}
		if (dst->low != src->low || dst->span != src->span) {
			duckdb_aggregate_function_set_error(info, "dq_key_repeats: low and span must be constant");
			return;
		}
		size_t words = (size_t)((dst->span + 63) >> 6);
		uint64_t *d = dst->bits, *s = src->bits;
		for (size_t w = 0; w < 2 * words; w += 2) {
			d[w + 1] |= s[w + 1] | (d[w] & s[w]);
			d[w] |= s[w];
		}
	}
}

static void key_finalize(duckdb_function_info info, duckdb_aggregate_state *source, duckdb_vector result, idx_t count,
                         idx_t offset) {
	duckdb_list_entry *entries = (duckdb_list_entry *)duckdb_vector_get_data(result);
	duckdb_vector child = duckdb_list_vector_get_child(result);
	for (idx_t i = 0; i < count; i++) {
		key_state *st = (key_state *)source[i];
		if (st->out_of_span || st->failed_alloc) {
			duckdb_vector_ensure_validity_writable(result);
			duckdb_validity_set_row_invalid(duckdb_vector_get_validity(result), offset + i);
			continue;
		}
		uint64_t singles = 0, groups = 0;
		size_t words = st->bits ? (size_t)((st->span + 63) >> 6) : 0;
		for (size_t w = 0; w < words; w++) {
			singles += (uint64_t)__builtin_popcountll(st->bits[2 * w] & ~st->bits[2 * w + 1]);
			groups += (uint64_t)__builtin_popcountll(st->bits[2 * w + 1]);
		}
		idx_t want = st->samples > 0 ? (idx_t)st->samples : 0;
		idx_t start = duckdb_list_vector_get_size(result);
		if (duckdb_list_vector_reserve(result, start + 2 + want) == DuckDBError) {
			duckdb_aggregate_function_set_error(info, "dq_key_repeats: out of memory");
			return;
		}
		int64_t *out = (int64_t *)duckdb_vector_get_data(child);
		idx_t n = 0;
		out[start + n++] = (int64_t)(st->rows - singles);
		out[start + n++] = (int64_t)groups;
		for (size_t w = 0; w < words && n < 2 + want; w++) {
			uint64_t bits = st->bits[2 * w + 1];
			while (bits && n < 2 + want) {
				int b = __builtin_ctzll(bits);
				out[start + n++] = st->low + (int64_t)(w * 64 + (size_t)b);
				bits &= bits - 1;
			}
		}
		duckdb_list_vector_set_size(result, start + n);
		entries[offset + i].offset = start;
		entries[offset + i].length = n;
	}
}

/* ---------------------------------------------------------------- registration */

static int register_dfa_match(duckdb_connection con) {
	duckdb_scalar_function f = duckdb_create_scalar_function();
	duckdb_scalar_function_set_name(f, "dq_dfa_match");
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type blob = duckdb_create_logical_type(DUCKDB_TYPE_BLOB);
	duckdb_logical_type boolean = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
	duckdb_scalar_function_add_parameter(f, varchar);
	duckdb_scalar_function_add_parameter(f, blob);
	duckdb_scalar_function_set_return_type(f, boolean);
	duckdb_scalar_function_set_special_handling(f); /* NULLs reach the function, which returns NULL for them */
	duckdb_scalar_function_set_function(f, dq_dfa_match);
	duckdb_state ok = duckdb_register_scalar_function(con, f);
	duckdb_destroy_logical_type(&varchar);
	duckdb_destroy_logical_type(&blob);
	duckdb_destroy_logical_type(&boolean);
	duckdb_destroy_scalar_function(&f);
	return ok == DuckDBSuccess;
}

static int register_key_repeats(duckdb_connection con) {
	duckdb_aggregate_function f = duckdb_create_aggregate_function();
	duckdb_aggregate_function_set_name(f, "dq_key_repeats");
	duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_logical_type list = duckdb_create_list_type(bigint);
	for (int i = 0; i < 4; i++) {
		duckdb_aggregate_function_add_parameter(f, bigint);
	}
	duckdb_aggregate_function_set_return_type(f, list);
	duckdb_aggregate_function_set_functions(f, key_state_size, key_init, key_update, key_combine, key_finalize);
	duckdb_aggregate_function_set_destructor(f, key_destroy);
	duckdb_aggregate_function_set_special_handling(f); /* NULL keys reach update, which skips them */
	duckdb_state ok = duckdb_register_aggregate_function(con, f);
	duckdb_destroy_logical_type(&list);
	duckdb_destroy_logical_type(&bigint);
	duckdb_destroy_aggregate_function(&f);
	return ok == DuckDBSuccess;
}

DUCKDB_EXTENSION_ENTRYPOINT(duckdb_connection connection, duckdb_extension_info info,
                            struct duckdb_extension_access *access) {
	if (!register_dfa_match(connection) || !register_key_repeats(connection)) {
		access->set_error(info, "dqgate_native: could not register its functions");
		return false;
	}
	return true;
}
