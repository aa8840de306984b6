/* A host-memory stand-in of the libcublas entry points kernels/cuda_cublas.py calls, with
 * their C signatures (cublas_api.h), so that tests pass real ctypes arguments through a real
 * C ABI: a column-major reference GEMM with cuBLAS's argument checks. Built by
 * tests/test_cuda_cublas.py where a C compiler is present. */
#include <stddef.h>
#include <string.h>

#include "tf32.h"

typedef struct { void *stream; void *workspace; size_t workspace_size; int gemms; int math_mode; }
    handle_t;
static handle_t the_handle;

int cublasCreate_v2(handle_t **handle) { *handle = &the_handle; return 0; }
int cublasSetStream_v2(handle_t *h, void *stream) { h->stream = stream; h->workspace = 0; return 0; }
int cublasSetWorkspace_v2(handle_t *h, void *ws, size_t size) {
    h->workspace = ws; h->workspace_size = size; return 0;
}
int cublasSetMathMode(handle_t *h, int mode) {  /* DEFAULT 0, PEDANTIC 2, TF32_TENSOR_OP 3 */
    if (mode != 0 && mode != 2 && mode != 3) return 7;
    h->math_mode = mode; return 0;
}
/* float32 inputs rounded to TF32 under CUBLAS_TF32_TENSOR_OP_MATH; float64 GEMMs keep theirs */
static float tf32f(const handle_t *h, float x) { return h->math_mode == 3 ? tf32_round(x) : x; }
static double tf32d(const handle_t *h, double x) { (void)h; return x; }
/* what the last calls left in the handle, for the test to read back */
void *stub_stream(void) { return the_handle.stream; }
void *stub_workspace(void) { return the_handle.workspace; }
int stub_gemms(void) { return the_handle.gemms; }
int stub_math_mode(void) { return the_handle.math_mode; }

#define GEMM(NAME, T, IN)                                                                     \
int NAME(handle_t *h, int ta, int tb, int m, int n, int k, const T *alpha, const T *a,        \
         int lda, const T *b, int ldb, const T *beta, T *c, int ldc) {                        \
    if (m < 0 || n < 0 || k < 0 || lda < (ta ? k : m) || lda < 1 || ldb < (tb ? n : k)       \
        || ldb < 1 || ldc < m || ldc < 1) return 7;                                          \
    for (int i = 0; i < m; i++)                                                               \
        for (int j = 0; j < n; j++) {                                                         \
            T sum = 0;                                                                        \
            for (int l = 0; l < k; l++)                                                       \
                sum += IN(h, ta ? a[l + (size_t)i * lda] : a[i + (size_t)l * lda])            \
                     * IN(h, tb ? b[j + (size_t)l * ldb] : b[l + (size_t)j * ldb]);           \
            c[i + (size_t)j * ldc] = *alpha * sum + (*beta != 0 ? *beta * c[i + (size_t)j * ldc] : 0); \
        }                                                                                     \
    h->gemms++;                                                                               \
    return 0;                                                                                 \
}
GEMM(cublasSgemm_v2, float, tf32f)
GEMM(cublasDgemm_v2, double, tf32d)
