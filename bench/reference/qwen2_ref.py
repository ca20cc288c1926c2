"""A plain-PyTorch Qwen2 (Qwen2ForCausalLM), the parity reference for the engine.

Written from the Hugging Face modelling semantics, one sequence at a time (so the causal mask is
per sequence by construction), in float64 by default:

    x = embed_tokens[ids]
    per layer l:
        h = rmsnorm(x) * input_layernorm
        q = h Wq^T + bq,  k = h Wk^T + bk,  v = h Wv^T + bv          (heads: Hq query, Hkv key/value)
        q, k = rope(q, pos), rope(k, pos)                            (rotate-half, rope_theta)
        a = softmax(q k^T / sqrt(d) + causal) v                      (query head j uses kv head j // (Hq/Hkv))
        x = x + a Wo^T                                               (no o bias)
        h = rmsnorm(x) * post_attention_layernorm
        x = x + (silu(h Wg^T) * (h Wu^T)) Wd^T                       (SwiGLU, no biases)
    logits = (rmsnorm(x) * norm) W^T,  W = lm_head, or embed_tokens when tie_word_embeddings
    rmsnorm(x) = x / sqrt(mean(x^2) + rms_norm_eps)
    rope: inv_freq_i = theta^(-2i/d), i < d/2; angle = pos * inv_freq (duplicated to d);
          rope(x) = x cos + rotate_half(x) sin, rotate_half([x1, x2]) = [-x2, x1]

Also: a tiny safetensors reader/writer in pure Python (F32, BF16, F16), the Hugging Face folder
loader, per-token logprobs at a temperature, the one objective (docs/ARCHITECTURE.md "The objective") and PyTorch's AdamW
and clip_grad_norm_ rules written out, so make_fixtures.py states exactly what it ran.

Run with Debian's /usr/bin/python3 (python3-torch, libopenblas0-pthread).
"""
import json
import math
import os
import struct

import numpy as np
import torch

# ---- safetensors (pure Python) ---------------------------------------------------------------

_NP = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8")}


def read_safetensors(path):
    """Returns {name: float32 torch tensor} for F32/BF16/F16/F64 tensors."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    data = buf[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[b:e]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif info["dtype"] in _NP:
            arr = np.frombuffer(raw, dtype=_NP[info["dtype"]]).astype(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} as F32 the way the reference writer lays it out: tensors sorted by
    name, compact JSON header padded with spaces to a multiple of 8."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, off = [], 0
    for name in sorted(tensors):
        arr = tensors[name].detach().to(torch.float32).contiguous().numpy().astype("<f4")
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


# ---- model -----------------------------------------------------------------------------------


class Config:
    def __init__(self, d):
        if d.get("model_type") != "qwen2":
            raise ValueError(f"model_type {d.get('model_type')!r} is not qwen2")
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = d["intermediate_size"]
        self.num_layers = d["num_hidden_layers"]
        self.num_heads = d["num_attention_heads"]
        self.num_kv_heads = d.get("num_key_value_heads", self.num_heads)
        self.head_dim = d.get("head_dim", self.hidden_size // self.num_heads)
        self.rms_eps = d["rms_norm_eps"]
        self.rope_theta = d.get("rope_theta", 10000.0)
        self.tied = d.get("tie_word_embeddings", False)


def param_shapes(cfg):
    """Hugging Face tensor names and shapes, in the order Transformers lists them."""
    H, I, D = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    q, kv = cfg.num_heads * D, cfg.num_kv_heads * D
    shapes = {"model.embed_tokens.weight": (cfg.vocab_size, H)}
    for l in range(cfg.num_layers):
        p = f"model.layers.{l}."
        shapes.update({
            p + "self_attn.q_proj.weight": (q, H), p + "self_attn.q_proj.bias": (q,),
            p + "self_attn.k_proj.weight": (kv, H), p + "self_attn.k_proj.bias": (kv,),
            p + "self_attn.v_proj.weight": (kv, H), p + "self_attn.v_proj.bias": (kv,),
            p + "self_attn.o_proj.weight": (H, q),
            p + "mlp.gate_proj.weight": (I, H), p + "mlp.up_proj.weight": (I, H), p + "mlp.down_proj.weight": (H, I),
            p + "input_layernorm.weight": (H,), p + "post_attention_layernorm.weight": (H,),
        })
    shapes["model.norm.weight"] = (H,)
    if not cfg.tied:
        shapes["lm_head.weight"] = (cfg.vocab_size, H)
    return shapes


def no_decay(name):
    """The Hugging Face Trainer's rule: no weight decay on biases and norm weights."""
    return name.endswith(".bias") or "norm" in name


def load_folder(path, dtype=torch.float64):
    with open(os.path.join(path, "config.json")) as f:
        cfg = Config(json.load(f))
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(os.path.join(path, "model.safetensors")) or not os.path.exists(index):
        files = ["model.safetensors"]  # preferred over an index, as Transformers does
    else:
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for fn in files:
        tensors.update(read_safetensors(os.path.join(path, fn)))
    params = {}
    for name, shape in param_shapes(cfg).items():
        if name not in tensors:
            raise ValueError(f"{path}: missing tensor {name}")
        if tuple(tensors[name].shape) != shape:
            raise ValueError(f"{path}: {name} has shape {tuple(tensors[name].shape)}, expected {shape}")
        params[name] = tensors[name].to(dtype)
    return cfg, params


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, theta):
    """x: [heads, L, d]; pos: [L] integer positions."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    ang = pos.to(torch.float64)[:, None] * inv_freq[None, :]
    ang = torch.cat([ang, ang], dim=-1).to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return x * torch.cos(ang) + torch.cat([-x2, x1], dim=-1) * torch.sin(ang)


def forward(cfg, p, ids):
    """Logits [L, vocab] of one sequence (positions 0..L-1)."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    L, D = ids.shape[0], cfg.head_dim
    pos = torch.arange(L)
    x = p["model.embed_tokens.weight"][ids]
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    group = cfg.num_heads // cfg.num_kv_heads
    for l in range(cfg.num_layers):
        a = f"model.layers.{l}."
        h = rmsnorm(x, p[a + "input_layernorm.weight"], cfg.rms_eps)
        q = h @ p[a + "self_attn.q_proj.weight"].T + p[a + "self_attn.q_proj.bias"]
        k = h @ p[a + "self_attn.k_proj.weight"].T + p[a + "self_attn.k_proj.bias"]
        v = h @ p[a + "self_attn.v_proj.weight"].T + p[a + "self_attn.v_proj.bias"]
        q = rope(q.view(L, cfg.num_heads, D).transpose(0, 1), pos, cfg.rope_theta)
        k = rope(k.view(L, cfg.num_kv_heads, D).transpose(0, 1), pos, cfg.rope_theta)
        v = v.view(L, cfg.num_kv_heads, D).transpose(0, 1)
        k = k.repeat_interleave(group, dim=0)
        v = v.repeat_interleave(group, dim=0)
        s = (q @ k.transpose(1, 2)) / math.sqrt(D)
        s = s.masked_fill(~causal, float("-inf"))
        o = torch.softmax(s, dim=-1) @ v  # [heads, L, D]
        x = x + o.transpose(0, 1).reshape(L, cfg.num_heads * D) @ p[a + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, p[a + "post_attention_layernorm.weight"], cfg.rms_eps)
        g = h @ p[a + "mlp.gate_proj.weight"].T
        u = h @ p[a + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ p[a + "mlp.down_proj.weight"].T
    h = rmsnorm(x, p["model.norm.weight"], cfg.rms_eps)
    head = p["model.embed_tokens.weight"] if cfg.tied else p["lm_head.weight"]
    return h @ head.T


def logprobs(cfg, p, ids, temperature=1.0):
    """log p(x_t | x_<t) for t = 1..L-1 at the given temperature (logits / temperature)."""
    logits = forward(cfg, p, ids)[:-1] / temperature
    tgt = torch.as_tensor(ids[1:], dtype=torch.long)
    return torch.log_softmax(logits, dim=-1).gather(1, tgt[:, None])[:, 0]


def objective(cfg, p, seqs, token_weights, normaliser, advantages=None, old_logprobs=None,
              clip_low=0.2, clip_high=0.2):
    """The one loss (docs/ARCHITECTURE.md "The objective"), summed over all targets of all sequences, divided by normaliser:
        L_t = -min(rho*A, clip(rho, 1-clip_low, 1+clip_high)*A) * w_t,  rho = exp(logp - old)
    Without old_logprobs (SFT): rho = 1 on-policy and the reported value is -A*logp*w (same
    gradient). Without advantages: A = 1. w_t = token_weights[s][t] (aligned to the token)."""
    total = 0.0
    for s, ids in enumerate(seqs):
        lp = logprobs(cfg, p, ids)
        w = torch.as_tensor(token_weights[s][1:], dtype=lp.dtype)
        A = 1.0 if advantages is None else float(advantages[s])
        if old_logprobs is None:
            total = total + (-A * lp * w).sum()
        else:
            rho = torch.exp(lp - torch.as_tensor(old_logprobs[s], dtype=lp.dtype))
            surr = torch.minimum(rho * A, torch.clamp(rho, 1 - clip_low, 1 + clip_high) * A)
            total = total + (-surr * w).sum()
    return total / normaliser


def clip_grad_norm(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_: total L2 norm over every gradient; scale all gradients by
    min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping."""
    norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads.values()))
    scale = min(1.0, max_norm / (norm + 1e-6))
    for g in grads.values():
        g.mul_(scale)
    return norm


def adamw_step(p, grads, state, step, lr, betas, eps, weight_decay):
    """torch.optim.AdamW, step counted from 1:
        p -= lr*wd*p (decayed parameters only); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
        p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)"""
    b1, b2 = betas
    with torch.no_grad():
        for name, w in p.items():
            g = grads[name]
            m, v = state.setdefault(name, (torch.zeros_like(w), torch.zeros_like(w)))
            if not no_decay(name):
                w.mul_(1 - lr * weight_decay)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = v.sqrt() / math.sqrt(1 - b2**step) + eps
            w.addcdiv_(m, denom, value=-lr / (1 - b1**step))
