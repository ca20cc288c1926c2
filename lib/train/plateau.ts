// Convergence-based stopping for RLVR (`grpo --stop-when plateau`): stop when the held-out reward
// stops improving. Over the series of held-out evaluations v_1, v_2, ... (one every --eval-every
// steps), the smoothed value after evaluation k is the mean of the last `window` of them,
//   s_k = (v_{k-window+1} + ... + v_k) / window      (defined once k >= window),
// the best so far is the largest s, and an evaluation improves when s_k > best + minDelta. The
// criterion fires at the first evaluation that ends `patience` evaluations in a row without an
// improvement. It is a pure function of the series, so a resumed run replays it from
// metrics.jsonl and fires exactly where an uninterrupted run would.

export interface PlateauConfig {
  window: number; // evaluations averaged
  patience: number; // evaluations without improvement before stopping
  minDelta: number; // what counts as an improvement of the smoothed value
}

export interface PlateauPoint {
  step: number; // the optimizer step of the evaluation
  value: number; // the held-out reward then
}

export interface PlateauVerdict {
  fired: boolean;
  firedAt: number | null; // step of the evaluation that fired
  best: number | null; // best smoothed value
  bestStep: number | null;
  smoothed: number | null; // smoothed value at the last evaluation considered
  since: number; // evaluations since the last improvement
}

export function checkPlateauConfig(c: PlateauConfig, where = 'plateau'): void {
  if (!Number.isInteger(c.window) || c.window < 1)
    throw new RangeError(`${where}: window must be a positive integer, got ${c.window}`);
  if (!Number.isInteger(c.patience) || c.patience < 1)
    throw new RangeError(`${where}: patience must be a positive integer, got ${c.patience}`);
  if (!(c.minDelta >= 0) || !Number.isFinite(c.minDelta))
    throw new RangeError(`${where}: minDelta must be a finite number >= 0, got ${c.minDelta}`);
}

/** The criterion over a series of evaluations: stops at the first that fires. */
export function plateau(series: readonly PlateauPoint[], c: PlateauConfig): PlateauVerdict {
  checkPlateauConfig(c);
  let best: number | null = null;
  let bestStep: number | null = null;
  let smoothed: number | null = null;
  let since = 0;
  for (let k = c.window - 1; k < series.length; k++) {
    let sum = 0;
    for (let j = k - c.window + 1; j <= k; j++) sum += series[j].value;
    smoothed = sum / c.window;
    if (best === null || smoothed > best + c.minDelta) {
      best = smoothed;
      bestStep = series[k].step;
      since = 0;
    } else if (++since >= c.patience) {
      return { fired: true, firedAt: series[k].step, best, bestStep, smoothed, since };
    }
  }
  return { fired: false, firedAt: null, best, bestStep, smoothed, since };
}

/** The criterion in words, for the run's log and config. */
export function describePlateau(metric: string, c: PlateauConfig): string {
  return `stop when the mean of ${metric} over the last ${c.window} evaluation${c.window === 1 ? '' : 's'} has not risen by more than ${c.minDelta} above its best for ${c.patience} evaluation${c.patience === 1 ? '' : 's'} in a row`;
}
