// Shared declarations of the multifile_nm native module (three C files).
#ifndef MULTIFILE_H
#define MULTIFILE_H

#include "py/dynruntime.h"

// ---- ops.c: read-only tables (rodata / .data.rel.ro) ----

typedef mp_int_t (*op_fn_t)(mp_int_t a, mp_int_t b);

// One binary operation: its Python-visible name and its implementation.
struct op_entry {
    const char *name;
    op_fn_t fn;
};
extern const struct op_entry op_table[];
extern const size_t op_count;

// A length unit: its name and how many micrometres it holds.
struct unit_entry {
    const char *name;
    mp_int_t micrometres;
};
extern const struct unit_entry unit_table[];
extern const size_t unit_count;

// Short descriptions, indexed like op_table (a table of string pointers).
extern const char *const op_descriptions[];

// Compares a (ptr, len) string with a NUL-terminated one.
bool name_equals(const char *s, size_t len, const char *name);

// ---- state.c: module state in BSS (zero at import, shared by all files) ----

#define HISTORY_MAX 8   // a power of two: indices are masked, never divided

extern mp_int_t history_buf[HISTORY_MAX];
extern size_t history_count;   // results recorded since import / reset
extern uint32_t apply_calls;   // successful apply() calls since import

void history_record(mp_int_t value);
size_t history_snapshot(mp_int_t *out);   // oldest first; returns how many
void state_reset(void);

#endif // MULTIFILE_H
