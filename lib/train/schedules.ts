// Learning-rate schedule of the paper: linear warmup, then constant (Hugging Face's
// get_constant_schedule_with_warmup):
//   lr(s) = lr * s / W   for optimizer step s < W (s counts from 0, so the first step has lr 0)
//   lr(s) = lr           afterwards
export function warmupConstant(lr: number, warmupSteps: number): (step: number) => number {
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new RangeError(`lr must be a finite number >= 0, got ${lr}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    throw new RangeError(`warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  return (step: number) => (step < warmupSteps ? (lr * step) / warmupSteps : lr);
}
