/* xenpatch shim: see ../../xenshim.h */
#include "../../xenshim.h"
