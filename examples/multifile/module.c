// multifile_nm: the Python-visible API, registered in mpy_init.
//
//   import multifile_nm as m
//   m.ops()                 -> ['add', 'sub', 'mul', 'max', 'min', 'xor']
//   m.describe('max')       -> 'the larger of a and b'
//   m.apply('mul', 6, 7)    -> 42   (also recorded in the history)
//   m.history()             -> the last 8 apply() results, oldest first
//   m.calls()               -> how many apply() calls succeeded
//   m.to_um(3, 'in')        -> 76200  (length in micrometres)
//   m.reset()               -> clears history and call count
#include "multifile.h"

static size_t find_op(mp_obj_t name_in) {
    size_t len;
    const char *name = mp_obj_str_get_data(name_in, &len);
    for (size_t i = 0; i < op_count; i++) {
        if (name_equals(name, len, op_table[i].name)) {
            return i;
        }
    }
    mp_raise_ValueError(MP_ERROR_TEXT("unknown operation"));
}

static mp_obj_t ops(void) {
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < op_count; i++) {
        const char *s = op_table[i].name;
        size_t len = 0;
        while (s[len] != '\0' && len < 16) {   // bounded: not turned into strlen()
            len++;
        }
        mp_obj_list_append(list, mp_obj_new_str(s, len));
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_0(ops_obj, ops);

static mp_obj_t describe(mp_obj_t name_in) {
    const char *d = op_descriptions[find_op(name_in)];
    size_t len = 0;
    while (d[len] != '\0' && len < 64) {
        len++;
    }
    return mp_obj_new_str(d, len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(describe_obj, describe);

static mp_obj_t apply(mp_obj_t name_in, mp_obj_t a_in, mp_obj_t b_in) {
    op_fn_t fn = op_table[find_op(name_in)].fn;
    mp_int_t result = fn(mp_obj_get_int(a_in), mp_obj_get_int(b_in));
    history_record(result);
    apply_calls++;
    return mp_obj_new_int(result);
}
static MP_DEFINE_CONST_FUN_OBJ_3(apply_obj, apply);

static mp_obj_t history(void) {
    mp_int_t values[HISTORY_MAX];
    mp_obj_t items[HISTORY_MAX];
    size_t n = history_snapshot(values);
    for (size_t i = 0; i < n; i++) {
        items[i] = mp_obj_new_int(values[i]);
    }
    return mp_obj_new_list(n, items);
}
static MP_DEFINE_CONST_FUN_OBJ_0(history_obj, history);

static mp_obj_t calls(void) {
    return mp_obj_new_int_from_uint(apply_calls);
}
static MP_DEFINE_CONST_FUN_OBJ_0(calls_obj, calls);

static mp_obj_t to_um(mp_obj_t value_in, mp_obj_t unit_in) {
    size_t len;
    const char *unit = mp_obj_str_get_data(unit_in, &len);
    for (size_t i = 0; i < unit_count; i++) {
        if (name_equals(unit, len, unit_table[i].name)) {
            return mp_binary_op(MP_BINARY_OP_MULTIPLY, value_in,
                mp_obj_new_int(unit_table[i].micrometres));
        }
    }
    mp_raise_ValueError(MP_ERROR_TEXT("unknown unit"));
}
static MP_DEFINE_CONST_FUN_OBJ_2(to_um_obj, to_um);

static mp_obj_t reset(void) {
    state_reset();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(reset_obj, reset);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_store_global(MP_QSTR_ops, MP_OBJ_FROM_PTR(&ops_obj));
    mp_store_global(MP_QSTR_describe, MP_OBJ_FROM_PTR(&describe_obj));
    mp_store_global(MP_QSTR_apply, MP_OBJ_FROM_PTR(&apply_obj));
    mp_store_global(MP_QSTR_history, MP_OBJ_FROM_PTR(&history_obj));
    mp_store_global(MP_QSTR_calls, MP_OBJ_FROM_PTR(&calls_obj));
    mp_store_global(MP_QSTR_to_um, MP_OBJ_FROM_PTR(&to_um_obj));
    mp_store_global(MP_QSTR_reset, MP_OBJ_FROM_PTR(&reset_obj));

    MP_DYNRUNTIME_INIT_EXIT
}
