/* A host-memory stand-in of the libcublasLt entry points kernels/cuda_cublaslt.py calls, with
 * their C signatures (cublasLt.h): descriptors that keep their attributes, a heuristic that
 * returns one marked algorithm, and a column-major reference matmul (on TF32-rounded inputs
 * under CUBLAS_COMPUTE_32F_FAST_TF32) applying the DEFAULT, RELU, BIAS and RELU_BIAS epilogues as cuBLASLt defines them (the bias runs along D's rows).
 * As cuBLASLt, the heuristic picks an algorithm for the pointer alignments the preference
 * states (256 bytes where it states none) and for the bias pointer's alignment at that time;
 * the matmul refuses pointers less aligned than its algorithm was picked for.
 * Built by tests/test_cuda_cublaslt.py where a C compiler is present. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tf32.h"

typedef struct { int transa, transb; unsigned epilogue; const float *bias; int tf32; } desc_t;
typedef struct { int type; uint64_t rows, cols; int64_t ld; } layout_t;
typedef struct { uint64_t workspace; uint32_t align[4]; } pref_t;
typedef struct { uint64_t algo[8]; size_t workspace_size; int state; float waves; int r[4]; } heur_t;
static int heuristics, handle_storage;

int cublasLtCreate(void **h) { *h = &handle_storage; return 0; }
int cublasLtMatmulDescCreate(desc_t **d, int compute, int scale) {
    if ((compute != 68 && compute != 77) || scale != 0) return 7;  /* 32F, 32F_FAST_TF32 */
    *d = calloc(1, sizeof(desc_t)); (*d)->tf32 = compute == 77; return 0;
}
/* the inputs rounded to TF32 under CUBLAS_COMPUTE_32F_FAST_TF32 */
static float input(const desc_t *d, float x) { return d->tf32 ? tf32_round(x) : x; }
int cublasLtMatmulDescSetAttribute(desc_t *d, int attr, const void *buf, size_t size) {
    if (attr == 3 && size == 4) memcpy(&d->transa, buf, 4);
    else if (attr == 4 && size == 4) memcpy(&d->transb, buf, 4);
    else if (attr == 7 && size == 4) memcpy(&d->epilogue, buf, 4);
    else if (attr == 8 && size == 8) memcpy(&d->bias, buf, 8);
    else return 7;
    return 0;
}
int cublasLtMatrixLayoutCreate(layout_t **l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (type != 0 || ld < (int64_t)(rows ? rows : 1)) return 7;
    *l = malloc(sizeof(layout_t)); (*l)->type = type; (*l)->rows = rows; (*l)->cols = cols;
    (*l)->ld = ld; return 0;
}
static uint64_t alignment(const void *ptr) {  /* the largest power of two up to 256 */
    uint64_t a = (uint64_t)(uintptr_t)ptr;
    return a == 0 || (a & -a) > 256 ? 256 : (a & -a);
}
int cublasLtMatmulPreferenceCreate(pref_t **p) {
    *p = calloc(1, sizeof(pref_t));
    for (int i = 0; i < 4; i++) (*p)->align[i] = 256;  /* cuBLASLt's default */
    return 0;
}
int cublasLtMatmulPreferenceSetAttribute(pref_t *p, int attr, const void *buf, size_t size) {
    if (attr == 1 && size == 8) memcpy(&p->workspace, buf, 8);
    else if (attr >= 5 && attr <= 8 && size == 4) memcpy(&p->align[attr - 5], buf, 4);
    else return 7;
    return 0;
}
int cublasLtMatmulAlgoGetHeuristic(void *h, desc_t *d, layout_t *a, layout_t *b, layout_t *c,
                                   layout_t *dd, pref_t *p, int requested, heur_t *out,
                                   int *found) {
    if (requested < 1) return 7;
    memset(out, 0, sizeof(heur_t)); out->algo[0] = 42; out->algo[7] = 7; *found = 1;
    for (int i = 0; i < 4; i++) out->algo[1 + i] = p->align[i];
    out->algo[5] = alignment(d->bias);
    heuristics++; return 0;
}
int stub_heuristics(void) { return heuristics; }

int cublasLtMatmul(void *h, desc_t *d, const float *alpha, const float *A, layout_t *la,
                   const float *B, layout_t *lb, const float *beta, const float *C,
                   layout_t *lc, float *D, layout_t *ld, const uint64_t *algo, void *ws,
                   size_t ws_size, void *stream) {
    uint64_t m = ld->rows, n = ld->cols, k = d->transa ? la->rows : la->cols;
    if (algo[0] != 42 || algo[7] != 7 || C != D || lc != ld) return 7;
    if ((d->transa ? la->cols : la->rows) != m || (d->transb ? lb->rows : lb->cols) != n
        || (d->transb ? lb->cols : lb->rows) != k) return 7;
    if ((d->epilogue & 4) && d->bias == 0) return 7;
    if (alignment(A) < algo[1] || alignment(B) < algo[2] || alignment(C) < algo[3]
        || alignment(D) < algo[4] || ((d->epilogue & 4) && alignment(d->bias) < algo[5]))
        return 7;  /* a pointer less aligned than the algorithm needs */
    for (uint64_t i = 0; i < m; i++)
        for (uint64_t j = 0; j < n; j++) {
            float sum = 0;
            for (uint64_t l = 0; l < k; l++)
                sum += input(d, d->transa ? A[l + i * la->ld] : A[i + l * la->ld])
                     * input(d, d->transb ? B[j + l * lb->ld] : B[l + j * lb->ld]);
            float v = *alpha * sum + (*beta != 0 ? *beta * C[i + j * lc->ld] : 0);
            if (d->epilogue & 4) v += d->bias[i];
            if ((d->epilogue & 2) && v < 0) v = 0;
            D[i + j * ld->ld] = v;
        }
    return 0;
}
