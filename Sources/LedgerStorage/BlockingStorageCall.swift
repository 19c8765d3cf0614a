import Dispatch

/// Runs a blocking storage call (fsync, rename, directory sync) on one of Dispatch's threads and awaits it.
///
/// Request handlers run on the HTTP/2 event loop that accepted their call; a loop waiting milliseconds for a disk
/// flush would hold up every other connection it serves, so calls that wait for the disk go through here.
public func performBlockingStorageCall<Value: Sendable>(
    _ call: @escaping @Sendable () throws(StorageError) -> Value
) async throws(StorageError) -> Value {
    let outcome: Result<Value, StorageError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(returning: Result { () throws(StorageError) -> Value in try call() })
        }
    }
    return try outcome.get()
}
