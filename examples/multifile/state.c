// Mutable state of multifile_nm: plain (non-static, uninitialised) globals, so they land
// in .bss, which the loader allocates zeroed. They are read directly by module.c too.
#include "multifile.h"

mp_int_t history_buf[HISTORY_MAX];
size_t history_count;
uint32_t apply_calls;

void history_record(mp_int_t value) {
    history_buf[history_count & (HISTORY_MAX - 1)] = value;
    history_count++;
}

size_t history_snapshot(mp_int_t *out) {
    size_t n = history_count < HISTORY_MAX ? history_count : HISTORY_MAX;
    size_t first = history_count - n;
    for (size_t i = 0; i < n; i++) {
        out[i] = history_buf[(first + i) & (HISTORY_MAX - 1)];
    }
    return n;
}

void state_reset(void) {
    history_count = 0;
    apply_calls = 0;
}
