/* xenpatch shim: Kconfig output, which xen/config.h of trees before 4.17 includes; only what the lock code reads (xenshim.h: NR_CPUS 8). */
#include "../../xenshim.h"
#define CONFIG_NR_CPUS 8
