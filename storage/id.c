/* Time-ordered unique ids (UUID version 7): sortable by creation, unguessable in the rest. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "storage/storage.h"

static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static unsigned sequence;

void storage_new_id(char out[37])
{
    unsigned char b[16];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* getrandom(2) does not fail for 16 bytes once the pool is ready; mix the clock in
         * rather than give up. */
        for (size_t i = 0; i < sizeof b; i++)
            b[i] ^= (unsigned char)(ts.tv_nsec >> (i % 4 * 8));
    }
    /* Ids made in the same millisecond by this process keep their order: the 12 bits after
     * the version count up (RFC 9562, method 1), borrowing the next millisecond on overflow. */
    pthread_mutex_lock(&clock_lock);
    if (ms <= last_ms) {
        ms = last_ms;
        if (++sequence > 0xFFF) {
            ms++;
            sequence = 0;
        }
    } else {
        sequence = (unsigned)(b[7] & 0x3F); /* start low, leaving room to count */
    }
    last_ms = ms;
    unsigned seq = sequence;
    pthread_mutex_unlock(&clock_lock);

    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | ((seq >> 8) & 0x0F)); /* version 7 */
    b[7] = (unsigned char)(seq & 0xFF);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3F)); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}
