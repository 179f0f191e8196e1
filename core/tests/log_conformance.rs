//! Runs the storage conformance suite and the damaged-log corpus on the in-memory backend and
//! on the fault-injecting wrapper (with no fault planned, it must behave like what it wraps).

mod memory {
    plover_core::log_conformance_tests!(
        futures_lite::future::block_on,
        plover_core::log::MemStorage::new(),
        |storage| storage
    );
}

mod fault_wrapper {
    plover_core::log_conformance_tests!(
        futures_lite::future::block_on,
        plover_core::log::FaultStorage::new(
            plover_core::log::MemStorage::new(),
            plover_core::log::FaultPlan::default()
        ),
        |storage| storage
    );
}
