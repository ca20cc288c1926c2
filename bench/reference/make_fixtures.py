"""Writes the committed Qwen2 parity fixtures: test/fixtures/qwen2/{tied,untied}/.

Regenerate (from the repository root, Debian's python3-torch; deterministic, about 10 s):

    /usr/bin/python3 bench/reference/make_fixtures.py

Each folder holds a tiny random Qwen2 as a Hugging Face model folder (config.json +
model.safetensors in F32; no lm_head.weight when tied, as Transformers saves it), plus
  inputs.json    the sequences, the SFT token weights and normaliser, and a policy-gradient case
  expected.json  what qwen2_ref.py (float64) computes from them: logprobs at temperature 1 and
                 0.7, the SFT loss and gradients, the policy-gradient loss and gradients, and the
                 logprobs after 3 AdamW steps (every setting of those steps is written there)
The engine's tests compare against these files, so CI needs no Python.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen2_ref as ref  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "test", "fixtures", "qwen2")

MODELS = {
    # name: (config overrides, seed)
    "tied": (dict(vocab_size=96, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0, rms_norm_eps=1e-6,
                  tie_word_embeddings=True), 1),
    "untied": (dict(vocab_size=80, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0, rms_norm_eps=1e-5,
                    tie_word_embeddings=False), 2),
}
# Sequence lengths and, per sequence, how many leading tokens are prompt (weight 0).
LENGTHS = [9, 16, 2, 5]
PROMPT = [3, 6, 1, 2]
TEMPERATURE = 0.7
PG = dict(advantages=[1.0, -0.75, 0.5, -1.25], clip_low=0.2, clip_high=0.28, normaliser=64.0, noise=0.35)
TRAIN = dict(steps=3, lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.1, max_grad_norm=1.0)
GRAD_NAMES = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
              "model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.k_proj.bias",
              "model.layers.1.self_attn.v_proj.bias", "model.layers.0.input_layernorm.weight",
              "model.norm.weight", "lm_head.weight"]
PG_GRAD_NAMES = ["model.layers.0.self_attn.q_proj.bias", "model.layers.1.mlp.down_proj.weight", "model.norm.weight"]


def config_json(over):
    c = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
        "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 1, "initializer_range": 0.02,
        "max_position_embeddings": 128, "max_window_layers": 2, "rope_scaling": None,
        "sliding_window": None, "use_sliding_window": False, "torch_dtype": "float32", "use_cache": True,
    }
    c.update(over)
    return dict(sorted(c.items()))


def random_params(cfg, seed):
    """Not Transformers' init: larger weights (so logits are far from flat), random biases and
    norm weights around 1 (so a bias or norm-weight bug shows), rounded to float32."""
    g = torch.Generator().manual_seed(seed)
    p = {}
    for name, shape in ref.param_shapes(cfg).items():
        if "norm" in name:
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            t = 0.1 * torch.randn(shape, generator=g)
        elif "embed_tokens" in name or "lm_head" in name:
            t = 0.3 * torch.randn(shape, generator=g)
        else:
            t = 0.15 * torch.randn(shape, generator=g)
        p[name] = t.to(torch.float32)
    return p


def rounded(x, digits=9):
    if isinstance(x, torch.Tensor):
        x = x.detach().double().flatten().tolist()
    if isinstance(x, (list, tuple)):
        return [rounded(v, digits) for v in x]
    return float(f"{x:.{digits}g}")


def grads_of(loss, p, names):
    for t in p.values():
        t.grad = None
    loss.backward()
    return {n: {"shape": list(p[n].shape), "values": rounded(p[n].grad)} for n in names if n in p}


def train(cfg, p0, inputs, dtype):
    """TRAIN['steps'] full-batch SFT steps; returns (losses, grad norms before clipping, logprobs after)."""
    p = {n: t.detach().clone().to(dtype) for n, t in p0.items()}
    state, losses, norms = {}, [], []
    for step in range(1, TRAIN["steps"] + 1):
        for t in p.values():
            t.requires_grad_(True)
            t.grad = None
        loss = ref.objective(cfg, p, inputs["sequences"], inputs["token_weights"], inputs["normaliser"])
        loss.backward()
        grads = {n: t.grad.detach().clone() for n, t in p.items()}
        for t in p.values():
            t.requires_grad_(False)
        norms.append(ref.clip_grad_norm(grads, TRAIN["max_grad_norm"]))
        losses.append(float(loss))
        ref.adamw_step(p, grads, state, step, TRAIN["lr"], TRAIN["betas"], TRAIN["eps"], TRAIN["weight_decay"])
    with torch.no_grad():
        after = [ref.logprobs(cfg, p, s) for s in inputs["sequences"]]
    return losses, norms, after


def make(name, over, seed):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    conf = config_json(over)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(conf, f, indent=2)
        f.write("\n")
    cfg = ref.Config(conf)
    ref.write_safetensors(os.path.join(folder, "model.safetensors"), random_params(cfg, seed), {"format": "pt"})
    cfg, p = ref.load_folder(folder, torch.float64)  # read back what was written: the engine's input

    g = torch.Generator().manual_seed(100 + seed)
    seqs = [torch.randint(0, cfg.vocab_size, (L,), generator=g).tolist() for L in LENGTHS]
    weights = [[0.0] * k + [1.0] * (L - k) for L, k in zip(LENGTHS, PROMPT)]
    normaliser = float(sum(sum(w[1:]) for w in weights))
    with torch.no_grad():
        lp = [ref.logprobs(cfg, p, s) for s in seqs]
        lp_t = [ref.logprobs(cfg, p, s, TEMPERATURE) for s in seqs]
    # old logprobs for the policy-gradient case: current ones plus noise, kept away from the clip
    # edges so float32 rounding in the engine cannot move a token across them
    old = []
    for s, l in enumerate(lp):
        while True:
            noise = (torch.rand(l.shape, generator=g, dtype=torch.float64) * 2 - 1) * PG["noise"]
            rho = torch.exp(-noise)
            edge = torch.minimum((rho - (1 - PG["clip_low"])).abs(), (rho - (1 + PG["clip_high"])).abs())
            if float(edge.min()) > 1e-3:
                break
        old.append(rounded(l + noise))
    inputs = {
        "sequences": seqs,
        "token_weights": weights,
        "normaliser": normaliser,
        "pg": {"advantages": PG["advantages"], "old_logprobs": old, "clip_low": PG["clip_low"],
               "clip_high": PG["clip_high"], "normaliser": PG["normaliser"]},
    }

    for t in p.values():
        t.requires_grad_(True)
    sft_loss = ref.objective(cfg, p, seqs, weights, normaliser)
    sft_grads = grads_of(sft_loss, p, GRAD_NAMES)
    sft_norm = math.sqrt(sum(float((t.grad ** 2).sum()) for t in p.values()))
    pg_loss = ref.objective(cfg, p, seqs, weights, PG["normaliser"], PG["advantages"], old,
                            PG["clip_low"], PG["clip_high"])
    pg_grads = grads_of(pg_loss, p, PG_GRAD_NAMES)
    clipped = 0
    for s, l in enumerate(lp):
        A = PG["advantages"][s]
        rho = torch.exp(l - torch.tensor(old[s], dtype=torch.float64))
        w = torch.tensor(weights[s][1:])
        cut = (rho > 1 + PG["clip_high"]) if A > 0 else (rho < 1 - PG["clip_low"])
        clipped += int((cut & (w != 0)).sum())
    for t in p.values():
        t.requires_grad_(False)

    losses, norms, after = train(cfg, p, inputs, torch.float64)
    _, _, after32 = train(cfg, p, inputs, torch.float32)
    drift32 = max(float((a - b.double()).abs().max()) for a, b in zip(after, after32))

    expected = {
        "reference": "bench/reference/qwen2_ref.py in float64 on the float32 weights of model.safetensors",
        "logprobs": {
            "about": "per sequence, L-1 values: entry t-1 = log p(x_t | x_<t), t = 1..L-1",
            "temperature_1": rounded(lp),
            "temperature": TEMPERATURE,
            "at_temperature": rounded(lp_t),
        },
        "sft": {
            "about": "loss = -sum_s sum_{t>=1} token_weights[s][t] * logp_s[t-1] / normaliser (inputs.json), "
                     "temperature 1; grads = d loss / d param, row-major; grad_norm = L2 norm of all "
                     "gradients (tied embedding counted once)",
            "loss": rounded(float(sft_loss)),
            "grad_norm": rounded(sft_norm),
            "grads": sft_grads,
        },
        "pg": {
            "about": "loss = sum over targets of -min(rho*A_s, clip(rho, 1-clip_low, 1+clip_high)*A_s) * w / "
                     "normaliser, rho = exp(logp - old_logprobs), A_s = advantages[s] on every target of "
                     "sequence s, w = token_weights[s][t] (inputs.json pg); clipped_tokens = targets with w != 0 "
                     "whose gradient the clip cuts (A>0 and rho>1+clip_high, or A<0 and rho<1-clip_low)",
            "loss": rounded(float(pg_loss)),
            "clipped_tokens": clipped,
            "grads": pg_grads,
        },
        "train": {
            "about": "from the weights in model.safetensors, 3 times: the SFT loss above on all sequences "
                     "(one packed batch, one forward/backward per step), total grad norm, "
                     "clip_grad_norm_ (scale = min(1, max_grad_norm / (norm + 1e-6))), then torch AdamW: "
                     "p -= lr*weight_decay*p for decayed params; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; "
                     "p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps), t = 1, 2, 3. No decay on names "
                     "ending in .bias and on norm weights (input_layernorm, post_attention_layernorm, "
                     "model.norm), as the Hugging Face Trainer does. Constant lr, no warmup.",
            "steps": TRAIN["steps"],
            "lr": TRAIN["lr"],
            "betas": TRAIN["betas"],
            "eps": TRAIN["eps"],
            "weight_decay": TRAIN["weight_decay"],
            "max_grad_norm": TRAIN["max_grad_norm"],
            "no_decay": sorted(n for n in p if ref.no_decay(n)),
            "losses": rounded(losses),
            "grad_norms": rounded(norms),
            "logprobs_after": rounded(after),
            "float32_reference_max_abs_diff": float(f"{drift32:.3g}"),
        },
    }
    with open(os.path.join(folder, "inputs.json"), "w") as f:
        json.dump(inputs, f)
        f.write("\n")
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(folder, x)) for x in os.listdir(folder))
    print(f"{name}: loss {float(sft_loss):.6f}, grad norm {sft_norm:.4f}, pg loss {float(pg_loss):.6f} "
          f"({clipped} clipped), train losses {[round(x, 5) for x in losses]}, norms {[round(x, 4) for x in norms]}, "
          f"f32-vs-f64 after 3 steps {drift32:.2e}, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    torch.manual_seed(0)
    for name, (over, seed) in MODELS.items():
        make(name, over, seed)
