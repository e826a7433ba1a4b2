// broken_duplicate: main.c and helpers.c both define the global function `scaled`.
#include "py/dynruntime.h"

mp_int_t scaled(mp_int_t x) { // BROKEN: also defined in helpers.c
    return 10 * x;
}

mp_int_t offset(mp_int_t x);

// scale(x) -> scaled(x) + offset(x)
static mp_obj_t scale(mp_obj_t x_in) {
    mp_int_t x = mp_obj_get_int(x_in);
    return mp_obj_new_int(scaled(x) + offset(x));
}
static MP_DEFINE_CONST_FUN_OBJ_1(scale_obj, scale);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_scale, MP_OBJ_FROM_PTR(&scale_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
