// zlib: gzip message compression (grpc-encoding: gzip).
#ifndef HEALTHLEDGER_CZLIB_SHIM_H
#define HEALTHLEDGER_CZLIB_SHIM_H
#include <zlib.h>
#endif
