/* A host-memory stand-in of the libcublasLt entry points kernels/cuda_cublaslt.py calls, with
 * their C signatures (cublasLt.h): descriptors that keep their attributes, a heuristic that
 * returns one marked algorithm, and a column-major reference matmul applying the DEFAULT,
 * RELU, BIAS and RELU_BIAS epilogues as cuBLASLt defines them (the bias runs along D's rows).
 * Built by tests/test_cuda_cublaslt.py where a C compiler is present. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int transa, transb; unsigned epilogue; const float *bias; } desc_t;
typedef struct { int type; uint64_t rows, cols; int64_t ld; } layout_t;
typedef struct { uint64_t workspace; } pref_t;
typedef struct { uint64_t algo[8]; size_t workspace_size; int state; float waves; int r[4]; } heur_t;
static int heuristics, handle_storage;

int cublasLtCreate(void **h) { *h = &handle_storage; return 0; }
int cublasLtMatmulDescCreate(desc_t **d, int compute, int scale) {
    if (compute != 68 || scale != 0) return 7;
    *d = calloc(1, sizeof(desc_t)); return 0;
}
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
int cublasLtMatmulPreferenceCreate(pref_t **p) { *p = calloc(1, sizeof(pref_t)); return 0; }
int cublasLtMatmulPreferenceSetAttribute(pref_t *p, int attr, const void *buf, size_t size) {
    if (attr != 1 || size != 8) return 7;
    memcpy(&p->workspace, buf, 8); return 0;
}
int cublasLtMatmulAlgoGetHeuristic(void *h, desc_t *d, layout_t *a, layout_t *b, layout_t *c,
                                   layout_t *dd, pref_t *p, int requested, heur_t *out,
                                   int *found) {
    if (requested < 1) return 7;
    memset(out, 0, sizeof(heur_t)); out->algo[0] = 42; out->algo[7] = 7; *found = 1;
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
    for (uint64_t i = 0; i < m; i++)
        for (uint64_t j = 0; j < n; j++) {
            float sum = 0;
            for (uint64_t l = 0; l < k; l++)
                sum += (d->transa ? A[l + i * la->ld] : A[i + l * la->ld])
                     * (d->transb ? B[j + l * lb->ld] : B[l + j * lb->ld]);
            float v = *alpha * sum + (*beta != 0 ? *beta * C[i + j * lc->ld] : 0);
            if (d->epilogue & 4) v += d->bias[i];
            if ((d->epilogue & 2) && v < 0) v = 0;
            D[i + j * ld->ld] = v;
        }
    return 0;
}
