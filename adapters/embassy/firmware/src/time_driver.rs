//! An embassy-time driver on the Cortex-M SysTick, for QEMU's lm3s6965evb, which no embassy HAL
//! covers. SysTick interrupts 10,000 times a second; each interrupt advances the clock by 100
//! ticks of embassy-time's 1 MHz and wakes the timers that are due. Good enough for back-off
//! sleeps in a demo; a real board uses its HAL's low-power driver instead.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The core clock QEMU gives this board's SysTick.
const CORE_HZ: u32 = 12_000_000;
/// SysTick interrupts per second.
const INTERRUPT_HZ: u32 = 10_000;
/// embassy-time ticks (1 MHz) per interrupt.
const TICKS_PER_INTERRUPT: u64 = 1_000_000 / INTERRUPT_HZ as u64;

struct SysTickDriver {
    now: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.now.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow_ref_mut(cs);
            // A wake-up already due is delivered at the next interrupt, a tick from now.
            queue.schedule_wake(at, waker);
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    now: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Starts SysTick; embassy-time's clock runs from here.
pub(crate) fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / INTERRUPT_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let now = DRIVER.now.borrow(cs);
        now.set(now.get() + TICKS_PER_INTERRUPT);
        // Wakes every timer that is due; the next expiry is seen at a later interrupt.
        DRIVER.queue.borrow_ref_mut(cs).next_expiration(now.get());
    });
}
