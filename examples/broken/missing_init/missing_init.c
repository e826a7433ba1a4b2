// broken_missing_init: the module's entry point must be a global function named mpy_init; this
// file names it module_init, so the linker finds no entry point.
#include "py/dynruntime.h"

// twice(n) -> 2 * n
static mp_obj_t twice(mp_obj_t n_in) {
    return mp_obj_new_int(2 * mp_obj_get_int(n_in));
}
static MP_DEFINE_CONST_FUN_OBJ_1(twice_obj, twice);

mp_obj_t module_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_twice, MP_OBJ_FROM_PTR(&twice_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
