// factorial_nm: a small native module (natmod) for MicroPython, written for natmod-lsp.
//
//   import factorial_nm
//   factorial_nm.factorial(20)  -> 2432902008176640000
//   factorial_nm.factorial(30)  -> 265252859812191058636308480000000 (a big int)
//   factorial_nm.fib(90)        -> 2880067194370816120
//
// Arithmetic goes through mp_binary_op, so results grow into arbitrary-precision ints
// where the port supports them. No division is used (armv6m/xtensa would need libgcc).
#include "py/dynruntime.h"

// n! for n >= 0; ValueError for a negative argument.
static mp_obj_t factorial(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    if (n < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("factorial() not defined for negative values"));
    }
    mp_obj_t product = mp_obj_new_int(1);
    for (mp_int_t k = 2; k <= n; k++) {
        product = mp_binary_op(MP_BINARY_OP_MULTIPLY, product, mp_obj_new_int(k));
    }
    return product;
}
static MP_DEFINE_CONST_FUN_OBJ_1(factorial_obj, factorial);

// The n-th Fibonacci number (fib(0) = 0, fib(1) = 1); ValueError for a negative argument.
static mp_obj_t fib(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    if (n < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("fib() not defined for negative values"));
    }
    mp_obj_t a = mp_obj_new_int(0);
    mp_obj_t b = mp_obj_new_int(1);
    for (mp_int_t k = 0; k < n; k++) {
        mp_obj_t next = mp_binary_op(MP_BINARY_OP_ADD, a, b);
        a = b;
        b = next;
    }
    return a;
}
static MP_DEFINE_CONST_FUN_OBJ_1(fib_obj, fib);

// Module entry point, called when the .mpy is imported.
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_factorial, MP_OBJ_FROM_PTR(&factorial_obj));
    mp_store_global(MP_QSTR_fib, MP_OBJ_FROM_PTR(&fib_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
