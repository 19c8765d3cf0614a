// Shows ThreadSanitizer the ordering that Swift's Synchronization.Mutex provides on Linux. Its uncontended lock and
// unlock are atomics compiled into the caller, which ThreadSanitizer sees; a contended lock is handed over by the
// kernel (FUTEX_LOCK_PI / FUTEX_UNLOCK_PI in the uninstrumented standard library), which it does not see, so it
// reports every access made under a contended mutex as a race. Preloaded into ThreadSanitizer runs only
// (scripts/sanitize): the slow paths are wrapped to release the mutex's address before a contended unlock and
// acquire it after a contended lock, the same address the fast paths' atomics use.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>

// Weak: the preload also reaches processes without ThreadSanitizer (swift test's own driver, Python).
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));

// The methods of _MutexHandle take the handle's address as Swift's self (register r13, `swift_context`).
typedef __attribute__((swiftcall)) void (*LockSlow)(uint32_t, void *__attribute__((swift_context)));
typedef __attribute__((swiftcall)) bool (*TryLockSlow)(void *__attribute__((swift_context)));
typedef __attribute__((swiftcall)) void (*UnlockSlow)(void *__attribute__((swift_context)));

#define LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define TRY_LOCK_SLOW "$s15Synchronization12_MutexHandleV12_tryLockSlowSbyF"
#define UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

__attribute__((swiftcall)) void lockSlow(uint32_t selfID, void *__attribute__((swift_context)) handle)
    __asm__(LOCK_SLOW);
__attribute__((swiftcall)) bool tryLockSlow(void *__attribute__((swift_context)) handle) __asm__(TRY_LOCK_SLOW);
__attribute__((swiftcall)) void unlockSlow(void *__attribute__((swift_context)) handle) __asm__(UNLOCK_SLOW);

// The standard library's implementation of a wrapped function, found on first use (relaxed atomics: every
// thread that looks finds the same address).
static void *original(void **cache, const char *name) {
    void *function = __atomic_load_n(cache, __ATOMIC_RELAXED);
    if (!function) {
        function = dlsym(RTLD_NEXT, name);
        __atomic_store_n(cache, function, __ATOMIC_RELAXED);
    }
    return function;
}

__attribute__((swiftcall)) void lockSlow(uint32_t selfID, void *__attribute__((swift_context)) handle) {
    static void *cache;
    ((LockSlow)original(&cache, LOCK_SLOW))(selfID, handle);
    if (__tsan_acquire) __tsan_acquire(handle);
}

__attribute__((swiftcall)) bool tryLockSlow(void *__attribute__((swift_context)) handle) {
    static void *cache;
    bool locked = ((TryLockSlow)original(&cache, TRY_LOCK_SLOW))(handle);
    if (locked && __tsan_acquire) __tsan_acquire(handle);
    return locked;
}

__attribute__((swiftcall)) void unlockSlow(void *__attribute__((swift_context)) handle) {
    static void *cache;
    if (__tsan_release) __tsan_release(handle);
    ((UnlockSlow)original(&cache, UNLOCK_SLOW))(handle);
}
