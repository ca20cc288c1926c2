// Matmuls through cuBLASLt (compiled only where CMake finds CUDA::cublasLt): bf16 operands,
// fp32 accumulation (CUBLAS_COMPUTE_32F), bf16 or fp32 output.
// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C is the column-major product
// C^T[N,M] = op(B)^T·op(A)^T, so B's memory is passed first and A's second, each with the
// transpose flag it has row-major. The Linear layer (PyTorch semantics):
//   out = x·w^T + bias (bias by the BIAS epilogue);  dx += dout·w;  dw += dout^T·x;  dbias += colsum(dout)
// Each shape's descriptors and algorithm are made once and cached, keyed by the operands'
// alignments too (told to cuBLASLt, which otherwise assumes 256 bytes).
#include <cublasLt.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>

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

// The largest power of two, at most 256, that divides the address: cuBLASLt assumes 256-byte
// aligned operands unless told otherwise, and picks kernels that need it (PyTorch and
// TransformerEngine set these preferences the same way).
uint32_t alignment(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uint32_t al = 256;
  while (al > 1 && a % al) al /= 2;
  return al;
}

// One shape's descriptors and the heuristic's algorithm, built on its first call and kept: the
// model makes about 400 matmul calls per micro-batch and 100 per decode step over a few shapes.
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

struct PlanKey {
  bool trans_a, trans_b, c_fp32, bias;
  int M, N, K, lda, ldb, ldc;
  uint32_t align_a, align_b, align_c;
  bool operator<(const PlanKey& o) const {
    return std::tie(trans_a, trans_b, c_fp32, bias, M, N, K, lda, ldb, ldc, align_a, align_b, align_c) <
           std::tie(o.trans_a, o.trans_b, o.c_fp32, o.bias, o.M, o.N, o.K, o.lda, o.ldb, o.ldc, o.align_a, o.align_b,
                    o.align_c);
  }
};

std::unique_ptr<Plan> make_plan(const PlanKey& k) {
  auto p = std::make_unique<Plan>();
  WS_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  // Column-major operands: first = B's memory, second = A's memory.
  const cublasOperation_t op1 = k.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op2 = k.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &op1, sizeof(op1)));
  WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &op2, sizeof(op2)));
  if (k.bias) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
    const cudaDataType_t bias_type = CUDA_R_16BF;
    WS_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof(bias_type)));
  }
  WS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, k.trans_b ? k.K : k.N, k.trans_b ? k.N : k.K, k.ldb));
  WS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, k.trans_a ? k.M : k.K, k.trans_a ? k.K : k.M, k.lda));
  WS_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->c, k.c_fp32 ? CUDA_R_32F : CUDA_R_16BF, k.N, k.M, k.ldc));
  cublasLtMatmulPreference_t pref = nullptr;
  WS_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  struct PrefGuard {
    cublasLtMatmulPreference_t p;
    ~PrefGuard() { cublasLtMatmulPreferenceDestroy(p); }
  } guard{pref};
  const size_t ws_bytes = kWorkspaceBytes;
  WS_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes,
                                                       sizeof(ws_bytes)));
  // cuBLASLt's A is our B's memory and its B our A's (see the top of this file); C and D are one.
  const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, k.align_b},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, k.align_a},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, k.align_c},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, k.align_c}};
  for (const auto& [attr, al] : aligns)
    WS_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &al, sizeof(al)));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  WS_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle(), p->op, p->a, p->b, p->c, p->c, pref, 1, &heur, &found));
  WS_CHECK(found > 0, "gemm: cuBLASLt has no algorithm for M=", k.M, " N=", k.N, " K=", k.K);
  p->algo = heur.algo;
  return p;
}

void run(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
         float beta, void* C, bool c_fp32, int ldc, const bf16* bias, cudaStream_t stream) {
  const PlanKey key{trans_a, trans_b, c_fp32,       bias != nullptr, M,           N, K, lda,
                    ldb,     ldc,     alignment(A), alignment(B),    alignment(C)};
  // The CUDA models take turns (Qwen2::mutex()), but the kernels' own tests and benchmarks call
  // in from any thread: the cache and the descriptor's bias pointer are guarded here.
  static std::mutex mu;
  static std::map<PlanKey, std::unique_ptr<Plan>> plans;
  std::lock_guard<std::mutex> lock(mu);
  auto& plan = plans[key];
  if (!plan) plan = make_plan(key);
  if (bias)
    WS_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  void* ws = workspace(kWsBlas, kWorkspaceBytes);
  WS_CUBLAS_CHECK(cublasLtMatmul(handle(), plan->op, &alpha, B, plan->a, A, plan->b, &beta, C, plan->c, C, plan->c,
                                 &plan->algo, ws, kWorkspaceBytes, stream));
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
