// libsodium: Ed25519 signature verification (about twice as fast as libcrypto's on the machines measured).
#ifndef HEALTHLEDGER_CSODIUM_SHIM_H
#define HEALTHLEDGER_CSODIUM_SHIM_H
#include <sodium.h>
#endif
