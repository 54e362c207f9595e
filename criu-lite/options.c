/*
 * The options of this cr run, filled by main.c. Here rather than in
 * main.c so that libcr.a, which the unit tests link, holds them for the
 * modules that read them (sk-inet.c's --tcp-established).
 */
#include "cr.h"

struct cr_options opts;
