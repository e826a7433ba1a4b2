// printf_nm: a natmod with one link error, for the editor tests.
// printf is not in mp_fun_table, so the link fails with "undefined symbol: printf".
// Replacing the printf line with a call to mp_printf(&mp_plat_print, ...) fixes it.
#include <stdio.h>
#include "py/dynruntime.h"

static mp_obj_t answer(mp_obj_t x_in) {
    mp_int_t x = mp_obj_get_int(x_in);
    printf("answer(%d)\n", (int)x);
    return mp_obj_new_int_from_uint(42 + (mp_uint_t)x);
}
static MP_DEFINE_CONST_FUN_OBJ_1(answer_obj, answer);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_answer, MP_OBJ_FROM_PTR(&answer_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
