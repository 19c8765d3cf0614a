// libnghttp2: HTTP/2 framing, HPACK and flow control (Debian bookworm ships 1.52).
#ifndef HEALTHLEDGER_CNGHTTP2_SHIM_H
#define HEALTHLEDGER_CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>
#endif
