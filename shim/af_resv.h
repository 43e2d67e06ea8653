/* af_resv.h - reservations, per thread (af_api.c). */
#ifndef AF_RESV_H
#define AF_RESV_H

#include "af.h"

/* ---- reservations (af_api.c) ------------------------------------------ */

void af_resv_use(struct af_thread *t, int64_t n);
int64_t af_resv_draw(struct af_thread *t, int64_t n);
void af_resv_summary(int fd);

#endif
