"""PyTorch CPU eager peer of bench/generate.ts: batched sampling with a KV cache (Transformers'
eager decode loop: prefill, then one token per sequence per step, past keys/values concatenated),
the same Qwen2 config, prompts, number of new tokens and threads. Prints one JSON line."""
import json
import sys
import time

import torch

from qwen2_torch import Qwen2, config_from


@torch.no_grad()
def generate(model, prompts, new_tokens, temperature, g):
    B, P = prompts.shape
    caches = [dict() for _ in model.layers]
    logits = model(prompts, torch.arange(P)[None].expand(B, P), caches)[:, -1]
    out = []
    for i in range(new_tokens):
        probs = torch.softmax(logits / temperature, dim=-1)
        tok = torch.multinomial(probs, 1, generator=g)
        out.append(tok)
        if i + 1 == new_tokens:
            break
        logits = model(tok, torch.full((B, 1), P + i), caches)[:, -1]
    return torch.cat(out, dim=1)


def main():
    a = json.loads(sys.argv[1])
    torch.set_num_threads(a["threads"])
    torch.manual_seed(0)
    model = Qwen2(config_from(a["config"])).eval()
    g = torch.Generator().manual_seed(1)
    V = a["config"]["vocabSize"]
    prompts = torch.randint(0, V, (a["batch"], a["promptLen"]), generator=g)
    times = []
    for rep in range(a["warmup"] + a["reps"]):
        t0 = time.perf_counter()
        generate(model, prompts, a["newTokens"], a["temperature"], g)
        dt = time.perf_counter() - t0
        if rep >= a["warmup"]:
            times.append(dt)
    print(json.dumps({"seconds": times, "newTokens": a["batch"] * a["newTokens"], "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
