// Token-bucket rate limiting keyed by requester (user ID or IP). In memory: limits are per
// process, which is what a single Foyer process needs.
export interface RateLimitSettings {
  per_second: number;
  burst_count: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for key; returns 0 if allowed, else milliseconds until one is available. */
  take(key: string): number {
    const { per_second, burst_count } = this.settings;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst_count, updatedMs: now };
    bucket.tokens = Math.min(burst_count, bucket.tokens + ((now - bucket.updatedMs) / 1000) * per_second);
    bucket.updatedMs = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(key, bucket);
      if (this.buckets.size > 100_000) this.prune(now);
      return 0;
    }
    this.buckets.set(key, bucket);
    return per_second > 0 ? Math.ceil(((1 - bucket.tokens) / per_second) * 1000) : 60_000;
  }

  private prune(now: number): void {
    const { per_second, burst_count } = this.settings;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.updatedMs) / 1000) * per_second >= burst_count) this.buckets.delete(key);
    }
  }
}
