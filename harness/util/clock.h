/* The monotonic clock in milliseconds, for deadlines and durations. */
#ifndef SF_CLOCK_H
#define SF_CLOCK_H

long long sf_now_ms(void);

#endif
