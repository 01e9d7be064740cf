// Reads the few values the benchmark needs from the host's Prometheus text (GET /metrics on the admin port).

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

interface Sample {
  name: string;
  labels: string;
  value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m) out.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

/** The sum over all label sets of the metric `name`; undefined when the host exports no such metric. */
export function metricValue(text: string, name: string): number | undefined {
  let found = false;
  let sum = 0;
  for (const s of samples(text)) {
    if (s.name !== name) continue;
    found = true;
    sum += s.value;
  }
  return found ? sum : undefined;
}

export interface HistogramSnapshot {
  sum: number;
  count: number;
  /** Cumulative counts by upper bound (seconds), ascending; the last is +Inf. */
  buckets: Array<{ le: number; count: number }>;
}

export function histogram(text: string, name: string): HistogramSnapshot | undefined {
  const sum = metricValue(text, `${name}_sum`);
  const count = metricValue(text, `${name}_count`);
  if (sum === undefined || count === undefined) return undefined;
  const buckets: Array<{ le: number; count: number }> = [];
  for (const s of samples(text)) {
    if (s.name !== `${name}_bucket`) continue;
    const le = /le="([^"]+)"/.exec(s.labels)?.[1];
    if (le !== undefined) buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: s.value });
  }
  buckets.sort((a, b) => a.le - b.le);
  return { sum, count, buckets };
}

/** `after - before` for a histogram that only grows (observations made between two scrapes). */
export function histogramDelta(before: HistogramSnapshot, after: HistogramSnapshot): HistogramSnapshot {
  return {
    sum: after.sum - before.sum,
    count: after.count - before.count,
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (before.buckets.find((x) => x.le === b.le)?.count ?? 0) })),
  };
}
