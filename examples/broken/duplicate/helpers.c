// broken_duplicate: helpers.c defines `scaled` again (it meant a file-local helper: `static`).
#include "py/dynruntime.h"

mp_int_t scaled(mp_int_t x) { // BROKEN: also defined in main.c
    return x + 1;
}

mp_int_t offset(mp_int_t x) {
    return scaled(x) - x;
}
