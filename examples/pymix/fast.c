// pymix: the C half of a native module whose other half is helpers.py (see the Makefile).
//
//   import pymix
//   pymix.sum_squares(10)   -> 285  (C, fixed-width loop)
//   pymix.mean_square(10)   -> 28.5 (Python, in helpers.py, calling sum_squares)
#include "py/dynruntime.h"

// 0^2 + 1^2 + ... + (n-1)^2, for n >= 0; ValueError for a negative argument.
static mp_obj_t sum_squares(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    if (n < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("sum_squares() wants n >= 0"));
    }
    mp_int_t total = 0;
    for (mp_int_t k = 0; k < n; k++) {
        total += k * k;
    }
    return mp_obj_new_int(total);
}
static MP_DEFINE_CONST_FUN_OBJ_1(sum_squares_obj, sum_squares);

// Module entry point: registers the C function; the merged helpers.py code runs after it.
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_sum_squares, MP_OBJ_FROM_PTR(&sum_squares_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
