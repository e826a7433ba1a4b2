// gcdemo_nm: a native module with code it never uses, to show natmod-ld --gc-sections.
//
//   import gcdemo_nm
//   gcdemo_nm.checksum(b"abc")  -> 294 (the sum of the bytes, through table.c's weights)
//
// `checksum` is reachable from mpy_init; `unused_crc` and its table in table.c are not, so
// `--gc-sections` drops them (see the Makefile).
#include "py/dynruntime.h"

// In table.c.
mp_int_t weighted_sum(const uint8_t *data, size_t len);
mp_int_t unused_crc(const uint8_t *data, size_t len);

// The weighted sum of a bytes object's bytes.
static mp_obj_t checksum(mp_obj_t data_in) {
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(data_in, &bufinfo, MP_BUFFER_READ);
    return mp_obj_new_int(weighted_sum(bufinfo.buf, bufinfo.len));
}
static MP_DEFINE_CONST_FUN_OBJ_1(checksum_obj, checksum);

// Never registered: nothing reaches it from mpy_init.
mp_obj_t unused_wrapper(mp_obj_t data_in) {
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(data_in, &bufinfo, MP_BUFFER_READ);
    return mp_obj_new_int(unused_crc(bufinfo.buf, bufinfo.len));
}

// Module entry point, called when the .mpy is imported.
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_checksum, MP_OBJ_FROM_PTR(&checksum_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
