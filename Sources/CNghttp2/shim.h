#ifndef SPICE_CNGHTTP2_SHIM_H
#define SPICE_CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>
#endif
