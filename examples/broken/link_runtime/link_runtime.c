// broken_link_runtime: gcc turns 128-bit division into a call of __udivti3, a libgcc helper
// that mp_fun_table does not export. LINK_RUNTIME = 1 links it into the module.
#include "py/dynruntime.h"

// frac64(a, b) -> the top 64 bits of a/b as a fraction: (a << 64) / b, truncated to an int
static mp_obj_t frac64(mp_obj_t a_in, mp_obj_t b_in) {
    unsigned __int128 a = (unsigned __int128)mp_obj_get_int_truncated(a_in) << 64;
    unsigned __int128 b = (unsigned __int128)mp_obj_get_int_truncated(b_in);
    unsigned __int128 q = a / b; // BROKEN: needs libgcc's __udivti3 (LINK_RUNTIME = 1)
    return mp_obj_new_int_from_uint((mp_uint_t)q);
}
static MP_DEFINE_CONST_FUN_OBJ_2(frac64_obj, frac64);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_frac64, MP_OBJ_FROM_PTR(&frac64_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
