#ifndef SPICE_CPOSTGRES_SHIM_H
#define SPICE_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#endif
