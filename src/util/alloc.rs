//! The allocator's settings for training.

/// Keeps freed memory in the process instead of handing it back to the system.
///
/// A training step frees and reallocates the same large activation and gradient buffers every
/// step. glibc serves blocks above 128 KiB with fresh `mmap`s and unmaps them on free, so each
/// step paid the kernel to zero the same pages again: about 20% of MobileNetV2's step in
/// `clear_page` under `perf` (docs/benchmarks.md). Serving blocks up to 32 MiB (glibc's largest
/// threshold on 64-bit systems) from the heap and trimming it only above 2 GiB free removes
/// most of that; the process then keeps its peak memory until it exits, which is what a
/// training run uses anyway. No effect on numbers. Returns whether glibc took both settings.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before the training threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_settings() {
        assert!(super::keep_freed_memory());
    }
}
