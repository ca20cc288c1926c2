// A short training run on the GPU against the same run on the CPU: a tiny language model
// (embedding -> RMSNorm -> tied-free LM head with the SFT objective, AdamW on all three weights)
// learns a fixed next-token map for 40 steps. The GPU run (bf16 compute, fp32 master weights and
// moments) must follow the CPU run's (fp32) loss curve step by step, and both must learn (the
// last loss well under the first). This checks that the CUDA ops compose through backward and
// the optimizer the way the CPU ops do, below the Qwen2 graph (whose own GPU run is
// bench/gpu/model.mjs's loss curve).
#include "../../cpu/ops.h"
#include "cuda_test_util.cuh"

using namespace wstest;
namespace cu = ws::cuda;

TEST(tiny_sft_run_follows_cpu_loss_curve) {
  const int T = 192, C = 64, V = 320, steps = 40, chunk = 64;
  const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.0f;
  std::vector<int32_t> tok(T), tgt(T);
  ws::Rng r(77);
  for (int t = 0; t < T; ++t) {
    tok[t] = (int32_t)(r.uniform() * V) % V;
    tgt[t] = (tok[t] * 7 + 3) % V;  // a map the model can learn
  }
  // fp32 master weights, identical on both sides (rounded to bf16 so both start from the same model)
  auto wte = round_bf16(randn((size_t)V * C, 78, 0.5f));
  std::vector<float> wn(C, 1.0f);
  auto W = round_bf16(randn((size_t)V * C, 79, 0.1f));
  // CPU state
  std::vector<float> c_wte = wte, c_wn = wn, c_W = W;
  std::vector<float> m1(wte.size()), v1(wte.size()), m2(C), v2(C), m3(W.size()), v3(W.size());
  std::vector<float> x((size_t)T * C), n((size_t)T * C), rstd(T), dn((size_t)T * C), dx((size_t)T * C);
  std::vector<float> g_wte(wte.size()), g_wn(C), g_W(W.size());
  // GPU state
  Buf<float> p_wte(wte.size()), p_wn(C), p_W(W.size());
  Buf<float> gm1(wte.size()), gv1(wte.size()), gm2(C), gv2(C), gm3(W.size()), gv3(W.size());
  Buf<float> d_gwte(wte.size()), d_gwn(C), d_gW(W.size()), d_rstd(T);
  Buf<bf16> b_wte(wte.size()), b_wn(C), b_W(W.size()), b_x((size_t)T * C), b_n((size_t)T * C);
  Buf<bf16> b_dn((size_t)T * C), b_dx((size_t)T * C);
  Buf<int32_t> d_tok(T), d_tgt(T);
  p_wte.upload(wte);
  p_wn.upload(wn);
  p_W.upload(W);
  d_tok.upload(tok);
  d_tgt.upload(tgt);
  for (Buf<float>* b : {&gm1, &gv1, &gm2, &gv2, &gm3, &gv3}) WS_CUDA_CHECK(cudaMemset(b->p, 0, b->n * sizeof(float)));
  cu::cast_f32_to_bf16(b_wte.p, p_wte.p, wte.size());
  cu::cast_f32_to_bf16(b_wn.p, p_wn.p, C);
  cu::cast_f32_to_bf16(b_W.p, p_W.p, W.size());
  cu::HeadObjective obj;
  obj.normaliser = (float)T;
  std::vector<double> cpu_loss, gpu_loss;
  for (int step = 1; step <= steps; ++step) {
    // CPU step
    ws::cpu::embedding_forward(x.data(), tok.data(), c_wte.data(), T, C, V);
    ws::cpu::rmsnorm_forward(n.data(), rstd.data(), x.data(), c_wn.data(), T, C, 1e-6f);
    std::fill(dn.begin(), dn.end(), 0.0f);
    std::fill(dx.begin(), dx.end(), 0.0f);
    std::fill(g_wte.begin(), g_wte.end(), 0.0f);
    std::fill(g_wn.begin(), g_wn.end(), 0.0f);
    std::fill(g_W.begin(), g_W.end(), 0.0f);
    cpu_loss.push_back(ws::cpu::fused_head(nullptr, dn.data(), g_W.data(), n.data(), c_W.data(), tgt.data(), T, C, V,
                                           obj, chunk, nullptr)
                           .loss);
    ws::cpu::rmsnorm_backward(dx.data(), g_wn.data(), dn.data(), x.data(), c_wn.data(), rstd.data(), T, C);
    ws::cpu::embedding_backward(g_wte.data(), dx.data(), tok.data(), T, C, V);
    ws::cpu::adamw_step(c_wte.data(), g_wte.data(), m1.data(), v1.data(), c_wte.size(), lr, b1, b2, eps, wd, step,
                        1.0f);
    ws::cpu::adamw_step(c_wn.data(), g_wn.data(), m2.data(), v2.data(), C, lr, b1, b2, eps, wd, step, 1.0f);
    ws::cpu::adamw_step(c_W.data(), g_W.data(), m3.data(), v3.data(), c_W.size(), lr, b1, b2, eps, wd, step, 1.0f);
    // GPU step
    cu::embedding_forward(b_x.p, d_tok.p, b_wte.p, T, C, V);
    cu::rmsnorm_forward(b_n.p, d_rstd.p, b_x.p, b_wn.p, T, C, 1e-6f);
    for (Buf<bf16>* b : {&b_dn, &b_dx}) WS_CUDA_CHECK(cudaMemset(b->p, 0, b->n * sizeof(bf16)));
    for (Buf<float>* b : {&d_gwte, &d_gwn, &d_gW}) WS_CUDA_CHECK(cudaMemset(b->p, 0, b->n * sizeof(float)));
    gpu_loss.push_back(
        cu::fused_head(nullptr, b_dn.p, d_gW.p, b_n.p, b_W.p, d_tgt.p, T, C, V, obj, chunk, nullptr).loss);
    cu::rmsnorm_backward(b_dx.p, d_gwn.p, b_dn.p, b_x.p, b_wn.p, d_rstd.p, T, C);
    cu::embedding_backward(d_gwte.p, b_dx.p, d_tok.p, T, C, V);
    cu::AdamWTensor ts[3];
    ts[0] = {p_wte.p, d_gwte.p, gm1.p, gv1.p, b_wte.p, (int64_t)wte.size(), wd};
    ts[1] = {p_wn.p, d_gwn.p, gm2.p, gv2.p, b_wn.p, (int64_t)C, wd};
    ts[2] = {p_W.p, d_gW.p, gm3.p, gv3.p, b_W.p, (int64_t)W.size(), wd};
    cu::adamw_step(ts, 3, lr, b1, b2, eps, step, 1.0f);
  }
  for (int s = 0; s < steps; ++s) {
    if (s % 5 == 0 || s == steps - 1) std::printf("  step %2d  cpu %.5f  gpu %.5f\n", s + 1, cpu_loss[s], gpu_loss[s]);
    CHECK_NEAR(gpu_loss[s], cpu_loss[s], 0.05 + 0.1 * cpu_loss[s]);  // bf16 compute drifts a little
  }
  CHECK(cpu_loss.back() < 0.5 * cpu_loss.front());
  CHECK(gpu_loss.back() < 0.5 * gpu_loss.front());
}

int main() { return run_tests(); }
