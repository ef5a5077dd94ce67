#ifndef SPICE_CRDKAFKA_SHIM_H
#define SPICE_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
