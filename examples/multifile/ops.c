// Read-only data of multifile_nm: a const struct array holding string and function
// pointers (relocated into .data.rel.ro with -fpic), a table of string pointers, and the
// operations themselves.
#include "multifile.h"

static mp_int_t op_add(mp_int_t a, mp_int_t b) {
    return a + b;
}

static mp_int_t op_sub(mp_int_t a, mp_int_t b) {
    return a - b;
}

static mp_int_t op_mul(mp_int_t a, mp_int_t b) {
    return a * b;
}

static mp_int_t op_max(mp_int_t a, mp_int_t b) {
    return a > b ? a : b;
}

static mp_int_t op_min(mp_int_t a, mp_int_t b) {
    return a < b ? a : b;
}

static mp_int_t op_xor(mp_int_t a, mp_int_t b) {
    return a ^ b;
}

const struct op_entry op_table[] = {
    { "add", op_add },
    { "sub", op_sub },
    { "mul", op_mul },
    { "max", op_max },
    { "min", op_min },
    { "xor", op_xor },
};
const size_t op_count = sizeof(op_table) / sizeof(op_table[0]);

const char *const op_descriptions[] = {
    "a + b",
    "a - b",
    "a * b",
    "the larger of a and b",
    "the smaller of a and b",
    "bitwise exclusive or",
};

const struct unit_entry unit_table[] = {
    { "um", 1 },
    { "mm", 1000 },
    { "cm", 10000 },
    { "in", 25400 },
    { "ft", 304800 },
    { "m", 1000000 },
};
const size_t unit_count = sizeof(unit_table) / sizeof(unit_table[0]);

bool name_equals(const char *s, size_t len, const char *name) {
    for (size_t i = 0; i < len; i++) {
        if (name[i] != s[i]) {   // also stops at name's NUL when s is longer
            return false;
        }
    }
    return name[len] == '\0';
}
