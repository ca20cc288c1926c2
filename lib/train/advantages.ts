// Dr. GRPO advantages and the normaliser of its loss (Liu et al. 2025, "Understanding R1-Zero-Like
// Training"), and the clipped per-token objective they feed (docs/ARCHITECTURE.md "The objective").
//
//   groups of G completions per prompt, rewards r_1..r_G:
//   Dr. GRPO:   A_i = r_i - mean(r)                       (no std division)
//   GRPO:       A_i = (r_i - mean(r)) / (std(r) + 1e-4)   (--scale-rewards group; std unbiased, as TRL)
//   normaliser = (number of completions) x (max completion length)   (no per-sequence 1/|o_i|)
//   L_t = -min(rho_t A, clip(rho_t, 1 - eps_low, 1 + eps_high) A) w_t,  rho_t = exp(logp_t - old_t)
//   loss = sum_t L_t / normaliser
// A group whose rewards are all equal has A = 0 for every member: it carries no learning signal.

export type RewardScaling = 'none' | 'group';

export interface GroupAdvantages {
  advantages: Float32Array; // one per completion, in the order of `rewards`
  zeroAdvantageGroups: number; // groups whose rewards are all equal
  groups: number;
}

export function groupAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  scaling: RewardScaling = 'none',
): GroupAdvantages {
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new RangeError(`groupSize must be a positive integer, got ${groupSize}`);
  if (rewards.length % groupSize !== 0) {
    throw new RangeError(`rewards: length ${rewards.length} is not a multiple of groupSize ${groupSize}`);
  }
  const groups = rewards.length / groupSize;
  const advantages = new Float32Array(rewards.length);
  let zeroAdvantageGroups = 0;
  for (let g = 0; g < groups; g++) {
    let sum = 0;
    for (let i = 0; i < groupSize; i++) {
      const r = rewards[g * groupSize + i];
      if (!Number.isFinite(r)) throw new RangeError(`rewards[${g * groupSize + i}] is not a finite number: ${r}`);
      sum += r;
    }
    const mean = sum / groupSize;
    let ss = 0;
    let allEqual = true;
    for (let i = 0; i < groupSize; i++) {
      const d = rewards[g * groupSize + i] - mean;
      ss += d * d;
      if (rewards[g * groupSize + i] !== rewards[g * groupSize]) allEqual = false;
    }
    if (allEqual) zeroAdvantageGroups++;
    const scale = scaling === 'group' ? 1 / ((groupSize > 1 ? Math.sqrt(ss / (groupSize - 1)) : 0) + 1e-4) : 1;
    for (let i = 0; i < groupSize; i++) {
      advantages[g * groupSize + i] = allEqual ? 0 : (rewards[g * groupSize + i] - mean) * scale;
    }
  }
  return { advantages, zeroAdvantageGroups, groups };
}

// Dr. GRPO's constant normaliser: every completion counts as if it had the maximum length.
export function drGrpoNormaliser(numCompletions: number, maxCompletionLength: number): number {
  if (!(numCompletions > 0) || !(maxCompletionLength > 0)) {
    throw new RangeError(
      `normaliser needs positive counts, got ${numCompletions} completions x ${maxCompletionLength} tokens`,
    );
  }
  return numCompletions * maxCompletionLength;
}

export interface ClipRange {
  low: number;
  high: number;
}

// One token's clipped surrogate loss and whether the clip cut its gradient (the quantity TRL
// logs as clip_ratio): the clipped branch is the minimum and it is flat in rho there.
export function clippedTokenLoss(
  logp: number,
  oldLogp: number,
  advantage: number,
  weight: number,
  clip: ClipRange,
): { loss: number; clipped: boolean } {
  const rho = Math.exp(logp - oldLogp);
  const rhoClipped = Math.min(Math.max(rho, 1 - clip.low), 1 + clip.high);
  const unclipped = rho * advantage;
  const clippedTerm = rhoClipped * advantage;
  const clipped = weight !== 0 && clippedTerm < unclipped;
  return { loss: -Math.min(unclipped, clippedTerm) * weight, clipped };
}

// The whole objective over a batch of per-token arrays, as the engine computes it (the reference
// the tests hold the engine to): sum of clipped token losses / normaliser, and the clip count.
export function clippedObjective(
  logp: ArrayLike<number>,
  oldLogp: ArrayLike<number>,
  advantages: ArrayLike<number>,
  weights: ArrayLike<number>,
  clip: ClipRange,
  normaliser: number,
): { loss: number; clipped: number } {
  let sum = 0;
  let clipped = 0;
  for (let t = 0; t < logp.length; t++) {
    const r = clippedTokenLoss(logp[t], oldLogp[t], advantages[t], weights[t], clip);
    sum += r.loss;
    if (r.clipped) clipped++;
  }
  return { loss: sum / normaliser, clipped };
}
