// broken_undefined: a native module can call only what the firmware exports through
// mp_fun_table; printf is not there (mp_printf(&mp_plat_print, ...) is the way to print).
#include <stdio.h>
#include "py/dynruntime.h"

// show(n): prints n and returns it
static mp_obj_t show(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    printf("n = %d\n", (int)n); // BROKEN: printf is not in mp_fun_table
    return n_in;
}
static MP_DEFINE_CONST_FUN_OBJ_1(show_obj, show);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    printf("loading %s\n", "broken_undefined"); // BROKEN: printf is not in mp_fun_table
    mp_store_global(MP_QSTR_show, MP_OBJ_FROM_PTR(&show_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
