/* float32 rounded to TensorFloat-32's 10-bit mantissa (to nearest, ties away from zero), as
 * the tensor cores read float32 inputs when TF32 is allowed; shared by the C stand-ins of
 * libcublas and libcublasLt (tests/fake_cublas.py's tf32 is the NumPy twin). */
#include <stdint.h>
#include <string.h>

static inline float tf32_round(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u = (u + 0x1000u) & 0xFFFFE000u;
    memcpy(&x, &u, 4);
    return x;
}
