// Measures this machine's limits for the roofline: streaming-read bandwidth over a buffer larger than the caches,
// and peak fp32 FMA throughput, with the given number of threads. Prints one JSON line.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char ** argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const size_t bytes = (argc > 2 ? strtoull(argv[2], NULL, 10) : 2048ull) << 20;
    omp_set_num_threads(threads);

    const size_t n = bytes / sizeof(float);
    float * buf = aligned_alloc(64, bytes);
    #pragma omp parallel for
    for (size_t i = 0; i < n; i++) buf[i] = (float) (i & 1023);

    // streaming read, best of 5 passes; the vectorised sum keeps the loop load-bound (a scalar sum was CPU-bound
    // at about 34 GB/s on this machine, below what the memory delivers)
    double best_read = 1e30;
    volatile float sink = 0;
    for (int pass = 0; pass < 5; pass++) {
        const double t0 = now();
        float total = 0;
        #pragma omp parallel for reduction(+:total)
        for (size_t i = 0; i < n; i += 64) {
            float s = 0;
            _Pragma("omp simd reduction(+:s)")
            for (int j = 0; j < 64; j++) s += buf[i + j];
            total += s;
        }
        const double t = now() - t0;
        sink += total;
        if (t < best_read) best_read = t;
    }

    // peak FMA: independent vector accumulators per thread, no memory traffic
    const long iters = 200000000L / 8;
    double best_fma = 1e30;
    for (int pass = 0; pass < 3; pass++) {
        const double t0 = now();
        float total = 0;
        #pragma omp parallel reduction(+:total)
        {
            float a[8][8], x[8], y[8];
            for (int k = 0; k < 8; k++) { x[k] = 1.0f + k * 1e-7f; y[k] = 0.999999f; for (int v = 0; v < 8; v++) a[v][k] = 0; }
            for (long it = 0; it < iters; it++) {
                for (int v = 0; v < 8; v++) {
                    #pragma omp simd
                    for (int k = 0; k < 8; k++) a[v][k] = a[v][k] * y[k] + x[k];
                }
            }
            for (int v = 0; v < 8; v++) for (int k = 0; k < 8; k++) total += a[v][k];
        }
        const double t = now() - t0;
        sink += total;
        if (t < best_fma) best_fma = t;
    }
    const double flops = 2.0 * 64.0 * (double) iters * threads;
    printf("{\"threads\":%d,\"bufferBytes\":%zu,\"readGBps\":%.2f,\"fmaGFlops\":%.1f}\n",
           threads, bytes, bytes / best_read / 1e9, flops / best_fma / 1e9);
    free(buf);
    return sink == 12345 ? 1 : 0;
}
