// broken_data: an initialised writable global is put in .data, which the native-module loader
// cannot relocate. A table that is never written should be const (it then goes to rodata).
#include "py/dynruntime.h"

mp_int_t weights[4] = {1, 3, 9, 27}; // BROKEN: initialised writable global (.data)

// weigh(i) -> weights[i % 4]
static mp_obj_t weigh(mp_obj_t i_in) {
    mp_int_t i = mp_obj_get_int(i_in);
    return mp_obj_new_int(weights[i & 3]);
}
static MP_DEFINE_CONST_FUN_OBJ_1(weigh_obj, weigh);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_weigh, MP_OBJ_FROM_PTR(&weigh_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
