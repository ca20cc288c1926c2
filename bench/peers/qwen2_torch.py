"""Plain PyTorch (eager) Qwen2 for the benchmark peers: the Hugging Face modelling semantics
(RMSNorm, rotate-half RoPE, grouped-query attention with q/k/v biases, SwiGLU, tied or untied
head) written the way Transformers' eager path runs it, with an optional KV cache."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(positions, dim, theta):
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    ang = positions.float()[..., None] * inv  # [..., T, D/2]
    emb = torch.cat((ang, ang), dim=-1)
    return emb.cos(), emb.sin()


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, H, KV, D, Fd = c["hidden"], c["heads"], c["kv"], c["hidden"] // c["heads"], c["inter"]
        self.H, self.KV, self.D = H, KV, D
        self.input_layernorm = RMSNorm(C, c["eps"])
        self.q_proj = nn.Linear(C, H * D, bias=True)
        self.k_proj = nn.Linear(C, KV * D, bias=True)
        self.v_proj = nn.Linear(C, KV * D, bias=True)
        self.o_proj = nn.Linear(H * D, C, bias=False)
        self.post_attention_layernorm = RMSNorm(C, c["eps"])
        self.gate_proj = nn.Linear(C, Fd, bias=False)
        self.up_proj = nn.Linear(C, Fd, bias=False)
        self.down_proj = nn.Linear(Fd, C, bias=False)

    def forward(self, x, cos, sin, cache=None):
        B, T, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.H, self.D).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.KV, self.D).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.KV, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if "k" in cache:
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        rep = self.H // self.KV
        kk = k.repeat_interleave(rep, dim=1)
        vv = v.repeat_interleave(rep, dim=1)
        S = kk.shape[2]
        scores = q @ kk.transpose(-1, -2) / math.sqrt(self.D)
        if T > 1:
            mask = torch.full((T, S), float("-inf")).triu(S - T + 1)
            scores = scores + mask
        att = F.softmax(scores, dim=-1) @ vv
        x = x + self.o_proj(att.transpose(1, 2).reshape(B, T, self.H * self.D))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Qwen2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["hidden"], c["eps"])
        self.lm_head = nn.Linear(c["hidden"], c["vocab"], bias=False)
        if c["tied"]:
            self.lm_head.weight = self.embed_tokens.weight
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, positions, caches=None):
        x = self.embed_tokens(ids)
        cos, sin = rope_cos_sin(positions, self.c["hidden"] // self.c["heads"], self.c["theta"])
        cos, sin = cos[:, None], sin[:, None]
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i])
        return self.lm_head(self.norm(x))


def config_from(d):
    """The benchmark's config (camelCase from the TypeScript side) in this file's names."""
    return {
        "vocab": d["vocabSize"], "hidden": d["hiddenSize"], "inter": d["intermediateSize"],
        "layers": d["numLayers"], "heads": d["numHeads"], "kv": d["numKvHeads"],
        "eps": d.get("rmsEps", 1e-6), "theta": d.get("ropeTheta", 1e6), "tied": d["tied"],
    }
