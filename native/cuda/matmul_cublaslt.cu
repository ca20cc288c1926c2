// Matmuls through cuBLASLt (compiled only where CMake finds CUDA::cublasLt): bf16 operands,
// fp32 accumulation (CUBLAS_COMPUTE_32F), bf16 or fp32 output.
// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C is the column-major product
// C^T[N,M] = op(B)^T·op(A)^T, so B's memory is passed first and A's second, each with the
// transpose flag it has row-major. The Linear layer (PyTorch semantics):
//   out = x·w^T + bias (bias by the BIAS epilogue);  dx += dout·w;  dw += dout^T·x;  dbias += colsum(dout)
#include <cublasLt.h>

#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

#define WS_CUBLAS_CHECK(expr)                                                                             \
  do {                                                                                                    \
    cublasStatus_t st_ = (expr);                                                                          \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                                     \
      throw ::ws::Error(                                                                                  \
          ::ws::str(#expr, " failed with cuBLAS status ", (int)st_, " (", __FILE__, ":", __LINE__, ")")); \
  } while (0)

constexpr size_t kWorkspaceBytes = 32u << 20;

cublasLtHandle_t handle() {
  static cublasLtHandle_t h = nullptr;
  if (!h) WS_CUBLAS_CHECK(cublasLtCreate(&h));
  return h;
}

// Owns the descriptors of one call.
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~Plan() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

void run(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
         float beta, void* C, bool c_fp32, int ldc, const bf16* bias, cudaStream_t stream) {
  Plan p;
  WS_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  // Column-major operands: first = B's memory, second = A's memory.
  const cublasOperation_t op1 = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op2 = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &op1, sizeof(op1)));
  WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &op2, sizeof(op2)));
  if (bias) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
    WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    const cudaDataType_t bias_type = CUDA_R_16BF;
    WS_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof(bias_type)));
  }
  WS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, trans_b ? K : N, trans_b ? N : K, ldb));
  WS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, trans_a ? M : K, trans_a ? K : M, lda));
  WS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, c_fp32 ? CUDA_R_32F : CUDA_R_16BF, N, M, ldc));
  WS_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&p.pref));
  const size_t ws_bytes = kWorkspaceBytes;
  WS_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(p.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes,
                                                       sizeof(ws_bytes)));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  WS_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle(), p.op, p.a, p.b, p.c, p.c, p.pref, 1, &heur, &found));
  WS_CHECK(found > 0, "gemm: cuBLASLt has no algorithm for M=", M, " N=", N, " K=", K);
  void* ws = workspace(kWsBlas, kWorkspaceBytes);
  WS_CUBLAS_CHECK(cublasLtMatmul(handle(), p.op, &alpha, B, p.a, A, p.b, &beta, C, p.c, C, p.c, &heur.algo, ws,
                                 kWorkspaceBytes, stream));
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
          float beta, void* C, bool c_fp32, int ldc, cudaStream_t stream) {
  WS_CHECK_RANGE(M >= 0 && N >= 0 && K >= 0, "gemm: need M, N, K >= 0, got ", M, ", ", N, ", ", K);
  if (M == 0 || N == 0) return;
  run(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, c_fp32, ldc, nullptr, stream);
}

void matmul_forward(bf16* out, const bf16* x, const bf16* w, const bf16* bias, int M, int K, int N,
                    cudaStream_t stream) {
  WS_CHECK_RANGE(M >= 0 && K > 0 && N > 0, "matmul_forward: need M >= 0, K > 0, N > 0, got ", M, ", ", K, ", ", N);
  if (M == 0) return;
  run(false, true, M, N, K, 1.0f, x, K, w, K, 0.0f, out, false, N, bias, stream);
}

void matmul_backward(bf16* dx, float* dw, float* dbias, const bf16* dout, const bf16* x, const bf16* w, int M, int K,
                     int N, cudaStream_t stream) {
  WS_CHECK_RANGE(M >= 0 && K > 0 && N > 0, "matmul_backward: need M >= 0, K > 0, N > 0, got ", M, ", ", K, ", ", N);
  if (M == 0) return;
  if (dx) run(false, false, M, K, N, 1.0f, dout, N, w, K, 1.0f, dx, false, K, nullptr, stream);
  if (dw) run(true, false, N, K, M, 1.0f, dout, N, x, K, 1.0f, dw, true, K, nullptr, stream);
  if (dbias) bias_grad(dbias, dout, M, N, stream);
}

}  // namespace ws::cuda
