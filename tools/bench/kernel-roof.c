// What ggml's own CPU kernel reaches on the expert products of a B = 1 decode, through ggml's public API and the
// engine's own build: a graph of many ggml_mul_mat_id nodes (one token, k experts of ROWS x COLS in Q8_0, as
// build_moe_ffn makes them), once with one expert that stays in cache (the kernel's arithmetic limit) and once with
// distinct experts streamed from memory (the kernel at the memory wall). Prints one JSON line.
//
//   kernel-roof THREADS ROWS COLS
#include "ggml.h"
#include "ggml-cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// best seconds per graph over `passes` computations of `nodes` products of one token with k experts; the experts of
// node n are the `experts` of tensor n % distinct
static double run(int threads, int64_t rows, int64_t cols, int k, int experts, int nodes, int distinct, int passes, size_t * weight_bytes) {
    const size_t matrix = ggml_row_size(GGML_TYPE_Q8_0, cols) * rows;
    struct ggml_init_params params = {
        /*.mem_size   =*/ matrix * experts * distinct + (size_t) nodes * (k * rows + cols + k) * sizeof(float) +
                          ggml_graph_overhead_custom(4 * nodes + 8, false) + (size_t) (3 * nodes + distinct + 8) * ggml_tensor_overhead() + (1 << 20),
        /*.mem_buffer =*/ NULL,
        /*.no_alloc   =*/ false,
    };
    struct ggml_context * ctx = ggml_init(params);

    float * values = malloc(sizeof(float) * rows * cols * experts);
    for (int64_t i = 0; i < rows * cols * experts; i++) values[i] = (float) ((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    struct ggml_tensor ** w = malloc(sizeof(*w) * distinct);
    for (int i = 0; i < distinct; i++) {
        w[i] = ggml_new_tensor_3d(ctx, GGML_TYPE_Q8_0, cols, rows, experts);
        ggml_quantize_chunk(GGML_TYPE_Q8_0, values, w[i]->data, 0, rows * experts, cols, NULL);
    }
    free(values);

    struct ggml_cgraph * graph = ggml_new_graph_custom(ctx, 4 * nodes + 8, false);
    for (int n = 0; n < nodes; n++) {
        struct ggml_tensor * x = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, cols, 1, 1);
        for (int64_t i = 0; i < cols; i++) ((float *) x->data)[i] = (float) ((i + n) % 7) * 0.25f;
        struct ggml_tensor * ids = ggml_new_tensor_2d(ctx, GGML_TYPE_I32, k, 1);
        for (int i = 0; i < k; i++) ((int32_t *) ids->data)[i] = i % experts;
        ggml_build_forward_expand(graph, ggml_mul_mat_id(ctx, w[n % distinct], x, ids));
    }

    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);
    struct ggml_threadpool * pool = ggml_threadpool_new(&tpp);
    struct ggml_cplan plan = ggml_graph_plan(graph, threads, pool);
    plan.work_data = malloc(plan.work_size + 64);

    double best = 1e30;
    for (int pass = 0; pass < passes; pass++) {
        const double t0 = now();
        ggml_graph_compute(graph, &plan);
        const double t = now() - t0;
        if (pass > 0 && t < best) best = t; // the first pass warms caches and threads
    }
    *weight_bytes = matrix * k * nodes;

    free(plan.work_data);
    ggml_threadpool_free(pool);
    free(w);
    ggml_free(ctx);
    return best;
}

int main(int argc, char ** argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const int64_t rows = argc > 2 ? atoll(argv[2]) : 384;
    const int64_t cols = argc > 3 ? atoll(argv[3]) : 1024;
    ggml_cpu_init();

    size_t bytes_cached = 0;
    size_t bytes_streamed = 0;
    const int k = 8;
    // one expert, chosen k times by every node: resident in L2 after the first product
    const double cached = run(threads, rows, cols, k, 1, 64, 1, 20, &bytes_cached);
    // 64 nodes of k distinct experts each (about 200 MiB for 384x1024 Q8_0): far beyond the caches, like a decode
    const double streamed = run(threads, rows, cols, k, k, 64, 64, 6, &bytes_streamed);
    printf("{\"threads\":%d,\"rows\":%lld,\"cols\":%lld,\"cachedGBps\":%.2f,\"streamedGBps\":%.2f,\"cachedGFlops\":%.1f,\"productUs\":%.2f}\n",
        threads, (long long) rows, (long long) cols, bytes_cached / cached / 1e9, bytes_streamed / streamed / 1e9,
        2.0 * rows * cols * k * 64 / cached / 1e9, cached / (k * 64) * 1e6);
    return 0;
}
