// Small statistics for the soak's time series: a least-squares trend with its standard error, and medians.

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Trend {
  /** Slope in y units per x unit. */
  readonly slope: number;
  /** Standard error of the slope: a slope within ~2 of these is indistinguishable from noise. */
  readonly standardError: number;
  readonly points: number;
}

/** Ordinary least squares; NaN figures with fewer than three points. */
export function linearTrend(points: readonly Point[]): Trend {
  const n = points.length;
  if (n < 3) return { slope: Number.NaN, standardError: Number.NaN, points: n };
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - meanX) ** 2;
    sxy += (p.x - meanX) * (p.y - meanY);
  }
  if (sxx === 0) return { slope: Number.NaN, standardError: Number.NaN, points: n };
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const residuals = points.reduce((sum, p) => sum + (p.y - (intercept + slope * p.x)) ** 2, 0);
  return { slope, standardError: Math.sqrt(residuals / (n - 2) / sxx), points: n };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * A trend is called growing only when it is both clearly above noise (more than two standard errors) and above
 * a floor that matters in practice; a falling or noisy series is flat.
 */
export function isGrowing(trend: Trend, floorPerUnit: number): boolean {
  return Number.isFinite(trend.slope) && trend.slope > 2 * trend.standardError && trend.slope > floorPerUnit;
}
