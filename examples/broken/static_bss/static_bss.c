// broken_static_bss: the loader places BSS apart from the code, so code cannot reach a static
// BSS variable through a fixed (PC-relative) relocation. Without `static` it goes via the GOT.
#include "py/dynruntime.h"

static mp_int_t total; // BROKEN: static BSS variable

// add(n) -> running total
static mp_obj_t add(mp_obj_t n_in) {
    total += mp_obj_get_int(n_in);
    return mp_obj_new_int(total);
}
static MP_DEFINE_CONST_FUN_OBJ_1(add_obj, add);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_add, MP_OBJ_FROM_PTR(&add_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
