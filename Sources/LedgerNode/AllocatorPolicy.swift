import CMalloc

/// How glibc's allocator gives memory back to the system, set once by a process that serves a node.
public enum AllocatorPolicy {
    /// Fixes glibc's mmap and trim thresholds at their initial 128 KiB. Left to adjust themselves, both rise after
    /// the first large buffer is freed (up to 32 and 64 MiB), and then the peak of each snapshot's encoding stays
    /// resident at the top of an arena, which `malloc_trim` does not release: in a 6-minute soak with a snapshot a
    /// minute, 60.1 MiB of RSS at the end instead of 53.3 (BENCHMARKS.md, "Soak").
    public static func returnLargeBuffersToTheSystem() {
        let threshold: Int32 = 128 << 10
        _ = mallopt(M_MMAP_THRESHOLD, threshold)
        _ = mallopt(M_TRIM_THRESHOLD, threshold)
    }
}
