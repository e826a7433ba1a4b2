// Force-included (gcc -include) into the emulated boards' firmware by scripts/emulated-tests.sh.
// The qemu port reads its UART only when it waits for input, so Ctrl-C cannot stop running
// Python code; real ports catch Ctrl-C in their UART interrupt. This VM hook (run on each
// backward branch) looks at the UART instead and raises KeyboardInterrupt on the interrupt
// character, so `natmod-lsp board run --timeout` can stop a loop as on a real board.
int uart_rx_any(void);
int uart_rx_chr(void);
extern int mp_interrupt_char;
void mp_sched_keyboard_interrupt(void);
#define MICROPY_VM_HOOK_LOOP \
    if (uart_rx_any() && uart_rx_chr() == mp_interrupt_char) { \
        mp_sched_keyboard_interrupt(); \
    }
