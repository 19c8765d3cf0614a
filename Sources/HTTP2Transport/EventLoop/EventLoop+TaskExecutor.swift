/// An event loop runs Swift tasks that prefer it: the handler of a call accepted on a loop runs on that loop's
/// thread, so its request arrives and its response leaves without a thread switch or a wake-up of another
/// thread (SE-0417 task executor preference).
extension EventLoop: TaskExecutor {
    /// Queues `job` behind the loop's I/O; it runs at the end of the loop's current (or next) iteration.
    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(.job(UnownedJob(job)))
    }
}
