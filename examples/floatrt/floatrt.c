// floatrt_nm: floating point in a native module. On Cortex-M0 (armv6m) every float operation
// is a libgcc helper call (__aeabi_fmul, __aeabi_fdiv, ...) and floorf comes from newlib's libm,
// so the module links only with the toolchain runtime: `make ARCH=armv6m LINK_RUNTIME=1`.
// On x86/x64 the FPU does the work and the module links without it.
#include "py/dynruntime.h"
#include <math.h>

// Evaluates the polynomial c0 + c1*x + c2*x^2 with Horner's rule.
static mp_float_t poly(mp_float_t x, mp_float_t c0, mp_float_t c1, mp_float_t c2) {
    return (c2 * x + c1) * x + c0;
}

// celsius_to_fahrenheit(c) -> float
static mp_obj_t c_to_f(mp_obj_t c_in) {
    mp_float_t c = mp_obj_get_float(c_in);
    return mp_obj_new_float(c * (mp_float_t)9 / (mp_float_t)5 + (mp_float_t)32);
}
static MP_DEFINE_CONST_FUN_OBJ_1(c_to_f_obj, c_to_f);

// quadratic(x, c0, c1, c2) -> float
static mp_obj_t quadratic(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    return mp_obj_new_float(poly(mp_obj_get_float(args[0]), mp_obj_get_float(args[1]),
        mp_obj_get_float(args[2]), mp_obj_get_float(args[3])));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(quadratic_obj, 4, 4, quadratic);

// floor_div(a, b) -> int: floor(a / b) computed in floating point
static mp_obj_t floor_div(mp_obj_t a_in, mp_obj_t b_in) {
    mp_float_t q = mp_obj_get_float(a_in) / mp_obj_get_float(b_in);
    #if defined(__x86_64__) || defined(__i386__)
    // glibc's floor dispatches on CPU features at load time, which a natmod cannot do.
    mp_int_t i = (mp_int_t)q;
    return mp_obj_new_int(((mp_float_t)i > q) ? i - 1 : i);
    #elif MICROPY_FLOAT_IMPL == MICROPY_FLOAT_IMPL_FLOAT
    return mp_obj_new_int((mp_int_t)floorf(q));
    #else
    return mp_obj_new_int((mp_int_t)floor(q));
    #endif
}
static MP_DEFINE_CONST_FUN_OBJ_2(floor_div_obj, floor_div);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_c_to_f, MP_OBJ_FROM_PTR(&c_to_f_obj));
    mp_store_global(MP_QSTR_quadratic, MP_OBJ_FROM_PTR(&quadratic_obj));
    mp_store_global(MP_QSTR_floor_div, MP_OBJ_FROM_PTR(&floor_div_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
