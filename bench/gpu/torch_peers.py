"""PyTorch peers of bench/gpu/bench_cuda.cu on the same card and shapes, one JSON line each:
- attention forward/backward: F.scaled_dot_product_attention (flash backend first), causal, bf16,
  one sequence of 4k..16k tokens, at bench_cuda.cu's three shapes (16 heads d128; 14/2 heads d64;
  12/2 heads d128, GQA by enable_gqa) (FlashAttention FLOP convention);
- the unfused head: logits = h @ W^T (bf16) -> log_softmax (fp32) -> gather, forward + backward,
  8192 tokens x hidden 896 x vocab 151936: time and peak allocated memory;
- a training step of a Qwen2.5-0.5B-shaped model (24 layers, hidden 896, 14/2 heads, FFN 4864,
  vocab 151936, tied): bf16 autocast over fp32 weights, SDPA attention, fused AdamW;
  tokens/s and MFU against the card's dense bf16 peak.
Usage: python3 torch_peers.py [attention|head|step]..."""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DEV = "cuda"


def median_ms(fn, warmup=3, reps=10):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


# bench_cuda.cu's shapes: (name, query heads, KV heads, head dim).
ATTN_SHAPES = (("mha16_d128", 16, 16, 128), ("qwen05b", 14, 2, 64), ("qwen15b", 12, 2, 128))


def attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    # Flash first; for GQA (enable_gqa) SDPA takes the first listed backend that accepts it.
    backends = [SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]
    for name, H, KV, D in ATTN_SHAPES:
        for T in (4096, 8192, 16384):
            q = torch.randn(1, H, T, D, device=DEV, dtype=torch.bfloat16, requires_grad=True)
            k, v = (torch.randn(1, KV, T, D, device=DEV, dtype=torch.bfloat16, requires_grad=True) for _ in range(2))
            dout = torch.randn(1, H, T, D, device=DEV, dtype=torch.bfloat16)
            flops = 4.0 * T * T * D * H / 2
            gqa = {"enable_gqa": True} if KV != H else {}
            with sdpa_kernel(backends):
                fwd = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, **gqa))
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True, **gqa)
                bwd = median_ms(lambda: torch.autograd.grad(out, (q, k, v), dout, retain_graph=True), 2, 10)
            for bench, ms, f in (("attention_fwd", fwd, flops), ("attention_bwd", bwd, 2.5 * flops)):
                print(json.dumps({"bench": bench, "impl": "torch_sdpa", "shape": name, "T": T, "ms": ms,
                                  "tflops": f / ms / 1e9}), flush=True)
            del q, k, v, dout, out
            torch.cuda.empty_cache()


def head():
    T, C, V = 8192, 896, 151936
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    h = torch.randn(T, C, device=DEV, dtype=torch.bfloat16, requires_grad=True)
    W = (torch.randn(V, C, device=DEV) * 0.02).to(torch.bfloat16).requires_grad_(True)
    y = torch.randint(0, V, (T,), device=DEV)

    def step():
        logits = h @ W.t()
        logp = torch.log_softmax(logits.float(), dim=-1).gather(1, y[:, None]).squeeze(1)
        loss = -logp.mean()
        loss.backward()
        h.grad = None
        W.grad = None

    ms = median_ms(step, 2, 5)
    peak = (torch.cuda.max_memory_allocated() - base) / 2**30
    print(json.dumps({"bench": "fused_head", "impl": "torch_unfused", "T": T, "V": V, "ms": ms, "peak_gib": peak}),
          flush=True)
    del h, W
    torch.cuda.empty_cache()


class Layer(nn.Module):
    def __init__(s, C, H, KV, Fd):
        super().__init__()
        s.H, s.KV, s.D = H, KV, C // H
        s.n1, s.n2 = nn.RMSNorm(C, eps=1e-6), nn.RMSNorm(C, eps=1e-6)
        s.qkv = nn.Linear(C, (H + 2 * KV) * s.D, bias=True)
        s.o = nn.Linear(H * s.D, C, bias=False)
        s.gate_up = nn.Linear(C, 2 * Fd, bias=False)
        s.down = nn.Linear(Fd, C, bias=False)

    def forward(s, x, cos, sin):
        B, T, _ = x.shape
        q, k, v = s.qkv(s.n1(x)).split([s.H * s.D, s.KV * s.D, s.KV * s.D], dim=-1)
        q = q.view(B, T, s.H, s.D).transpose(1, 2)
        k = k.view(B, T, s.KV, s.D).transpose(1, 2)
        v = v.view(B, T, s.KV, s.D).transpose(1, 2)

        def rope(t):
            t1, t2 = t[..., : s.D // 2], t[..., s.D // 2:]
            return t * cos + torch.cat((-t2, t1), dim=-1) * sin

        a = F.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True, enable_gqa=True)
        x = x + s.o(a.transpose(1, 2).reshape(B, T, -1))
        g, u = s.gate_up(s.n2(x)).chunk(2, dim=-1)
        return x + s.down(F.silu(g) * u)


def step():
    L, C, H, KV, Fd, V = 24, 896, 14, 2, 4864, 151936
    B, T = 8, 2048
    emb = nn.Embedding(V, C).to(DEV)
    layers = nn.ModuleList([Layer(C, H, KV, Fd) for _ in range(L)]).to(DEV)
    norm = nn.RMSNorm(C, eps=1e-6).to(DEV)
    params = list(emb.parameters()) + list(layers.parameters()) + list(norm.parameters())
    n_params = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=1e-6, fused=True)
    ids = torch.randint(0, V, (B, T), device=DEV)
    inv = 1.0 / (1e6 ** (torch.arange(0, C // H, 2, device=DEV, dtype=torch.float32) / (C // H)))
    ang = torch.arange(T, device=DEV, dtype=torch.float32)[:, None] * inv
    cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()

    def one():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            x = emb(ids)
            for layer in layers:
                x = layer(x, cos.to(torch.bfloat16), sin.to(torch.bfloat16))
            logits = F.linear(norm(x), emb.weight)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, V).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    ms = median_ms(one, 2, 5)
    tokens = B * T
    flops = 6.0 * n_params * tokens + 6.0 * L * C * T * tokens  # dense + causal attention (12·L·C·T/2 per token)
    name = torch.cuda.get_device_name()
    peak = 989e12 if ("H100" in name or "H200" in name) else 312e12 if "A100" in name else float("nan")
    print(json.dumps({"bench": "train_step", "impl": "torch_autocast_bf16", "tokens": tokens, "ms": ms,
                      "tokens_per_s": tokens / ms * 1e3, "mfu": flops / (ms / 1e3) / peak, "params": n_params}),
          flush=True)


if __name__ == "__main__":
    which = sys.argv[1:] or ["attention", "head", "step"]
    print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__}), file=sys.stderr)
    for w in which:
        {"attention": attention, "head": head, "step": step}[w]()
