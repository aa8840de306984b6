/* A stand-in of libcuda's cuLaunchKernel with its C signature (cuda.h), so that tests pass
 * kernels/cuda_launch.py's ctypes arguments through a real C ABI: it keeps what it was given
 * for the test to read back. Built by tests/test_cuda_launch.py where a C compiler is. */
typedef struct {
    void *function; unsigned grid[3], block[3], shared; void *stream; void **params;
    void **extra; int launches;
} launch_t;
static launch_t last;

int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned shared, void *stream, void **params, void **extra) {
    last.function = f; last.grid[0] = gx; last.grid[1] = gy; last.grid[2] = gz;
    last.block[0] = bx; last.block[1] = by; last.block[2] = bz; last.shared = shared;
    last.stream = stream; last.params = params; last.extra = extra; last.launches++;
    return f == 0 ? 400 : 0;  /* CUDA_ERROR_INVALID_HANDLE for a null function */
}

void *stub_function(void) { return last.function; }
unsigned stub_dim(int i) { return i < 3 ? last.grid[i] : last.block[i - 3]; }
void *stub_stream(void) { return last.stream; }
void **stub_params(void) { return last.params; }
void **stub_extra(void) { return last.extra; }
int stub_launches(void) { return last.launches; }
