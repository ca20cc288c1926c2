"""PyTorch CPU eager peer of bench/kernels.ts: each op the way Hugging Face's Qwen2 modelling
code runs it in eager mode (RMSNorm by pow/mean/rsqrt, rotate-half RoPE with precomputed cos/sin,
repeat_kv + matmul + causal mask + softmax attention, silu(gate) * up, F.linear, and the unfused
LM head: full logits, log_softmax, gather), on the same shapes and thread count.

  python3 kernels.py '{"threads": 2, "reps": 3, "serve": true}'  then one case per stdin line
      -> one JSON line per case: median seconds {fwd, bwd} (or {fwdbwd} for the head)
  python3 kernels.py '{"threads": 2, "mem": {"T": .., "C": .., "V": ..}}' -> peak extra RSS of the head

Backward times are autograd.grad of the forward's output with a random upstream gradient
(retain_graph), i.e. the backward alone, like the engine's *_backward."""
import json
import math
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, reps):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def fwd_bwd(forward, inputs, reps):
    """Median seconds of forward() and of the backward of its output w.r.t. inputs."""
    out = forward()
    g = torch.randn_like(out)
    t_fwd = timed(lambda: forward(), reps)
    t_bwd = timed(lambda: torch.autograd.grad(out, inputs, g, retain_graph=True), reps)
    return {"fwd": t_fwd, "bwd": t_bwd}


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def repeat_kv(x, n):  # [B, Hkv, T, D] -> [B, Hkv * n, T, D]
    return x if n == 1 else x[:, :, None].expand(x.shape[0], x.shape[1], n, x.shape[2], x.shape[3]).reshape(
        x.shape[0], x.shape[1] * n, x.shape[2], x.shape[3])


def run_case(c, reps):
    op = c["op"]
    r = lambda *s: torch.randn(*s, requires_grad=True)
    if op == "embedding":
        T, C, V = c["T"], c["C"], c["V"]
        wte = r(V, C)
        tok = torch.randint(0, V, (T,))
        return fwd_bwd(lambda: F.embedding(tok, wte), [wte], reps)
    if op == "rmsnorm":
        T, C = c["T"], c["C"]
        x, w = r(T, C), r(C)

        def f():
            var = x.pow(2).mean(-1, keepdim=True)
            return w * (x * torch.rsqrt(var + 1e-6))
        return fwd_bwd(f, [x, w], reps)
    if op == "rope":
        T, H, D = c["T"], c["H"], c["D"]
        x = r(1, H, T, D)
        inv = 1.0 / (1e6 ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
        freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        return fwd_bwd(lambda: x * cos + rotate_half(x) * sin, [x], reps)
    if op == "attention":
        T, Hq, Hkv, D = c["T"], c["Hq"], c["Hkv"], c["D"]
        q, k, v = r(1, Hq, T, D), r(1, Hkv, T, D), r(1, Hkv, T, D)
        mask = torch.full((T, T), float("-inf")).triu(1)

        def f():
            kk, vv = repeat_kv(k, Hq // Hkv), repeat_kv(v, Hq // Hkv)
            s = q @ kk.transpose(2, 3) / math.sqrt(D) + mask
            return torch.softmax(s, dim=-1, dtype=torch.float32) @ vv
        return fwd_bwd(f, [q, k, v], reps)
    if op == "decode":
        B, L, Hq, Hkv, D = c["B"], c["L"], c["Hq"], c["Hkv"], c["D"]
        q, kc, vc = torch.randn(B, Hq, 1, D), torch.randn(B, Hkv, L, D), torch.randn(B, Hkv, L, D)

        def f():
            kk, vv = repeat_kv(kc, Hq // Hkv), repeat_kv(vc, Hq // Hkv)
            return torch.softmax(q @ kk.transpose(2, 3) / math.sqrt(D), dim=-1) @ vv
        with torch.no_grad():
            return {"fwd": timed(f, reps)}
    if op == "swiglu":
        N = c["N"]
        g, u = r(N), r(N)
        return fwd_bwd(lambda: F.silu(g) * u, [g, u], reps)
    if op == "matmul":
        M, K, N = c["M"], c["K"], c["N"]
        x, w = r(M, K), r(N, K)
        return fwd_bwd(lambda: F.linear(x, w), [x, w], reps)
    if op == "head":
        T, C, V = c["T"], c["C"], c["V"]
        h, W = r(T, C), torch.randn(V, C).mul_(0.05).requires_grad_()
        y = torch.randint(0, V, (T,))

        def f():
            logp = torch.log_softmax(h @ W.t(), dim=-1).gather(1, y[:, None]).squeeze(1)
            return -logp.sum() / T

        def step():
            loss = f()
            torch.autograd.grad(loss, [h, W])
        return {"fwdbwd": timed(step, reps)}
    raise ValueError(f"unknown op {op}")


def status():
    """VmRSS and VmHWM (peak) of this process in bytes (Linux)."""
    s = open("/proc/self/status").read()
    return {f: int(re.search(f + r":\s+(\d+)", s).group(1)) * 1024 for f in ("VmRSS", "VmHWM")}


def head_memory(m):
    """Peak RSS growth of one unfused forward + backward over the inputs and their gradients
    (the peak is reset through /proc/self/clear_refs first)."""
    T, C, V = m["T"], m["C"], m["V"]
    h = torch.randn(T, C, requires_grad=True)
    W = torch.randn(V, C).mul_(0.05).requires_grad_()
    y = torch.randint(0, V, (T,))
    h.grad, W.grad = torch.zeros_like(h), torch.zeros_like(W)
    before = status()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    logp = torch.log_softmax(h @ W.t(), dim=-1).gather(1, y[:, None]).squeeze(1)
    (-logp.sum() / T).backward()
    return status()["VmHWM"] - before


def main():
    a = json.loads(sys.argv[1])
    torch.set_num_threads(a["threads"])
    torch.manual_seed(0)
    if "mem" in a:
        print(json.dumps({"peakExtraBytes": head_memory(a["mem"])}))
        return
    for line in sys.stdin:
        c = json.loads(line)
        if c.get("hello"):
            reply = {"threads": torch.get_num_threads(), "torch": torch.__version__}
        else:
            reply = run_case(c, a["reps"])
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
