/**
 * Learning-rate schedule: linear warm-up then half-cosine decay to 0, per optimizer step — the
 * `transformers.get_cosine_schedule_with_warmup` the reference uses (MODEL_SPEC §4). As with PyTorch's
 * LambdaLR, optimizer step s (0-based) uses factor(s), so the very first step has factor 0 when
 * there is a warm-up.
 */
export interface ScheduleConfig {
  totalSteps: number;
  warmupSteps: number;
}

export function lrFactor(step: number, { totalSteps, warmupSteps }: ScheduleConfig): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Warm-up steps from either an absolute count or a fraction of the total (the "10 % warm-up"). */
export function resolveWarmup(totalSteps: number, warmup: { steps?: number; fraction?: number }): number {
  if (warmup.steps !== undefined) {
    if (!Number.isInteger(warmup.steps) || warmup.steps < 0) throw new Error(`warm-up steps must be a non-negative integer, got ${warmup.steps}`);
    return warmup.steps;
  }
  const f = warmup.fraction ?? 0.1;
  if (!(f >= 0 && f < 1)) throw new Error(`warm-up fraction must be in [0, 1), got ${f}`);
  return Math.round(f * totalSteps);
}
