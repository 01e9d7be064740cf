// A token bucket per client: `perMinute` requests a minute, in bursts of up to `perMinute`.
const MAX_CLIENTS = 10_000;

export class RateLimiter {
  constructor(perMinute) {
    this.perMinute = perMinute;
    this.buckets = new Map();
  }

  take(client, now = Date.now()) {
    let b = this.buckets.get(client);
    if (b === undefined) {
      if (this.buckets.size >= MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value);
      b = { tokens: this.perMinute, at: now };
    } else {
      this.buckets.delete(client);
      b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.at) / 60_000) * this.perMinute);
      b.at = now;
    }
    // Map order is least recently seen first: the oldest client is the one dropped when full.
    this.buckets.set(client, b);
    if (b.tokens < 1) {
      return { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil(((1 - b.tokens) * 60) / this.perMinute)) };
    }
    b.tokens -= 1;
    return { allowed: true, remaining: Math.floor(b.tokens) };
  }
}
