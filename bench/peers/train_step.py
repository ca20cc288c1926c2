"""PyTorch CPU eager peer of bench/train-step.ts: one training step (forward, cross-entropy,
backward, gradient clipping, AdamW) of the same Qwen2 config on the same number of tokens
(`seqs` sequences of `seqLen` tokens) and threads. Prints one JSON line: tokens/s of each step."""
import json
import sys
import time

import torch
import torch.nn.functional as F

from qwen2_torch import Qwen2, config_from


def main():
    a = json.loads(sys.argv[1])
    torch.set_num_threads(a["threads"])
    torch.manual_seed(0)
    model = Qwen2(config_from(a["config"]))
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-5, betas=(0.9, 0.99), eps=1e-8)
    S, L, V = a["seqs"], a["seqLen"], a["config"]["vocabSize"]
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, V, (S, L), generator=g)
    pos = torch.arange(L)[None].expand(S, L)
    times = []
    for step in range(a["warmup"] + a["steps"]):
        t0 = time.perf_counter()
        logits = model(ids, pos)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        if step >= a["warmup"]:
            times.append(dt)
    print(json.dumps({"stepSeconds": times, "tokens": S * L, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
