"""Turns bench/gpu/run.sh's results.jsonl into the markdown table it prints last: each step's
status (build targets, parity tests, sanitizers, model graph, benchmarks), then each measurement
with warmstart beside its PyTorch peer and the ratio. Prints whatever subset exists: a row with
no figure names the step that should have made it and why that step gave none.
Usage: python3 table.py RESULTS.jsonl [CARD]"""
import json
import sys

# The attention shapes bench_cuda.cu and torch_peers.py both run: (name, label).
ATTN_SHAPES = (("mha16_d128", "16 heads d128"), ("qwen05b", "Qwen2.5-0.5B 14/2 heads d64"),
               ("qwen15b", "Qwen2.5-1.5B 12/2 heads d128"))
ATTN_T = (4096, 8192, 16384)


def load(path):
    rows, bad = [], 0
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        return [], f"results file unreadable: {e}"
    for line in lines:
        if line.strip().startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    return rows, f"{bad} unparsable line(s) skipped" if bad else ""


def fmt(x, unit=""):
    if not isinstance(x, (int, float)):
        return "n/a"
    return f"{x:.3g}{(' ' + unit) if unit else ''}"


def ratio(a, b):
    return f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "n/a"


def main(path, card):
    rows, warn = load(path)
    steps = {r.get("step"): r for r in rows if r.get("bench") == "step"}

    def find(bench, impl_prefix, **kv):
        for r in rows:
            if (r.get("bench") == bench and str(r.get("impl", "")).startswith(impl_prefix)
                    and all(r.get(k) == v for k, v in kv.items())):
                return r
        return None

    def why(step):
        s = steps.get(step)
        if s is None:
            return f"step {step} left no record"
        return f"{step}: {s.get('status', '?')}" + (f" ({s['why']})" if s.get("why") else "")

    out = [f"GPU run on {card or '?'}", "", "| measurement | warmstart | PyTorch | warmstart / PyTorch |",
           "| --- | --- | --- | --- |"]
    missing = []
    for r in rows:
        b = r.get("bench")
        if b == "step":
            out.append(f"| step {r.get('step')} | {r.get('status', '?')}"
                       f"{(' (' + r['why'] + ')') if r.get('why') else ''} | | |")
        elif b == "build":
            out.append(f"| build {r.get('target')} | {r.get('status', '?')}"
                       f"{(' (' + r['why'] + ')') if r.get('why') else ''} | | |")
        elif b == "parity":
            counts = f" ({r.get('ok', '?')} ok, {r.get('failed', '?')} failed)" if "ok" in r else ""
            out.append(f"| parity {r.get('test')} | {r.get('status', '?')}{counts}"
                       f"{(' (' + r['why'] + ')') if r.get('why') else ''} | | |")
        elif b == "sanitizer":
            out.append(f"| {r.get('tool')} {r.get('test')} | {r.get('status', '?')}"
                       f"{(' (' + r['why'] + ')') if r.get('why') else ''} | | |")

    for bench in ("attention_fwd", "attention_bwd"):
        for shape, label in ATTN_SHAPES:
            for T in ATTN_T:
                a, b = find(bench, "warmstart", shape=shape, T=T), find(bench, "torch", shape=shape, T=T)
                ta, tb = a and a.get("tflops"), b and b.get("tflops")
                if a is None:
                    missing.append((f"{bench} {shape} T={T} warmstart", why('bench_cuda')))
                if b is None:
                    missing.append((f"{bench} {shape} T={T} PyTorch", why('torch_peers')))
                out.append(f"| {bench} causal {label} T={T} TFLOP/s | {fmt(ta)} | {fmt(tb)} | {ratio(ta, tb)} |")
    a, b = find("fused_head", "warmstart"), find("fused_head", "torch")
    if a is None:
        missing.append((f"fused_head warmstart", why('bench_cuda')))
    if b is None:
        missing.append((f"fused_head PyTorch", why('torch_peers')))
    for key, unit, label in (("ms", "ms", "time fwd+bwd"), ("peak_gib", "GiB", "peak memory")):
        va, vb = a and a.get(key), b and b.get(key)
        out.append(f"| fused head 8192x151936 {label} | {fmt(va, unit)} | {fmt(vb, unit)} | {ratio(va, vb)} |")

    curve = find("model_curve", "warmstart")
    if curve is None:
        missing.append((f"model_curve", why('model')))
        out.append("| GPU loss curve follows the CPU one (20 steps, tiny model) | not run | | |")
    else:
        if curve.get("error") or "worst_ratio_to_tol" not in curve:
            detail = curve.get("error") or curve.get("why") or "no figures"
        else:
            lc, lg = curve.get("loss_cpu") or [None], curve.get("loss_cuda") or [None]
            detail = (f"worst step at {fmt(curve['worst_ratio_to_tol'])} of its tolerance, logprobs max diff "
                      f"{fmt(curve.get('logprob_max_diff'))}, final loss cpu {fmt(lc[-1])} / cuda {fmt(lg[-1])}")
        out.append(f"| GPU loss curve follows the CPU one (20 steps, tiny model) | {curve.get('status', '?')} "
                   f"({detail}) | | |")
    rc = find("model_recompute", "warmstart")
    if rc is not None:
        detail = rc.get("error") or (f"gradient max diff {fmt(rc.get('grad_max_diff'))} of max |g| "
                                     f"{fmt(rc.get('grad_max_abs'))}, arena {fmt(rc.get('arena_recompute'))} vs "
                                     f"{fmt(rc.get('arena_stored'))} bytes")
        out.append(f"| activation recomputation: the stored step's gradients | {rc.get('status', '?')} ({detail}) | | |")
    a, b = find("train_step", "warmstart"), find("train_step", "torch")
    if a is None:
        missing.append((f"train_step warmstart", why('model')))
    elif a.get("error"):
        missing.append(("train_step warmstart", f"{a.get('status', 'FAIL')} ({a['error']})"))
    if b is None:
        missing.append((f"train_step PyTorch", why('torch_peers')))
    for key, scale, unit, label in (("tokens_per_s", 1, "", "tokens/s"), ("mfu", 100, "%", "MFU")):
        va = a.get(key) if a else None
        vb = b.get(key) if b else None
        va = scale * va if isinstance(va, (int, float)) else None
        vb = scale * vb if isinstance(vb, (int, float)) else None
        out.append(f"| Qwen2.5-0.5B train step {label} | {fmt(va, unit)} | {fmt(vb, unit)} | {ratio(va, vb)} |")

    if missing or warn:
        by_reason = {}
        for name, reason in missing:
            by_reason.setdefault(reason, []).append(name)
        out += ["", f"Missing ({len(missing)} figures):"]
        out += [f"- {', '.join(names)}: {reason}" for reason, names in by_reason.items()]
        out += [f"- {warn}"] if warn else []
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
