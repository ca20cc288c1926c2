"""Turns bench/gpu/run.sh's results.jsonl into the one markdown table it prints last:
parity test status, then each benchmark with warmstart beside its PyTorch peer and the ratio."""
import json
import sys


def main(path, card):
    rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    out = [f"GPU run on {card or '?'}", "", "| measurement | warmstart | PyTorch | warmstart / PyTorch |",
           "| --- | --- | --- | --- |"]
    for r in rows:
        if r["bench"] == "parity":
            out.append(f"| parity {r['test']} | {r['status']} ({r['ok']} ok, {r['failed']} failed) | | |")

    def find(bench, impl_prefix, **kv):
        for r in rows:
            if r["bench"] == bench and r["impl"].startswith(impl_prefix) and all(r.get(k) == v for k, v in kv.items()):
                return r
        return None

    def fmt(x, unit):
        return "n/a" if x is None else f"{x:.3g} {unit}"

    for bench in ("attention_fwd", "attention_bwd"):
        for T in (4096, 8192, 16384):
            a, b = find(bench, "warmstart", T=T), find(bench, "torch", T=T)
            ta, tb = a and a["tflops"], b and b["tflops"]
            ratio = f"{ta / tb:.2f}" if ta and tb else "n/a"
            out.append(f"| {bench} causal d128 T={T} TFLOP/s | {fmt(ta, '')} | {fmt(tb, '')} | {ratio} |")
    a, b = find("fused_head", "warmstart"), find("fused_head", "torch")
    for key, unit, label in (("ms", "ms", "time fwd+bwd"), ("peak_gib", "GiB", "peak memory")):
        va, vb = a and a[key], b and b[key]
        ratio = f"{va / vb:.2f}" if va and vb else "n/a"
        out.append(f"| fused head 8192x151936 {label} | {fmt(va, unit)} | {fmt(vb, unit)} | {ratio} |")
    for r in rows:
        if r["bench"] == "model_curve":
            detail = r.get("error") or (f"worst step at {r['worst_ratio_to_tol']:.2f} of its tolerance, logprobs max diff "
                                        f"{r['logprob_max_diff']:.3g}, final loss cpu {r['loss_cpu'][-1]:.3f} / cuda "
                                        f"{r['loss_cuda'][-1]:.3f}")
            out.append(f"| GPU loss curve follows the CPU one (20 steps, tiny model) | {r['status']} ({detail}) | | |")
    a, b = find("train_step", "warmstart"), find("train_step", "torch")
    for key, scale, unit, label in (("tokens_per_s", 1, "", "tokens/s"), ("mfu", 100, "%", "MFU")):
        va, vb = a and a.get(key) and scale * a[key], b and scale * b[key]
        ratio = f"{va / vb:.2f}" if va and vb else "n/a"
        out.append(f"| Qwen2.5-0.5B train step {label} | {fmt(va, unit)} | {fmt(vb, unit)} | {ratio} |")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
