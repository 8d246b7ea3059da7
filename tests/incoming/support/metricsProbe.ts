/** Reads the proxy's metrics (tagged `test=<tag>`) from the global metric registry. */
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"

export class Metrics {
  constructor(readonly tag: string) {}

  private find(name: string, tags: Record<string, string>): MetricState.MetricState.Untyped | undefined {
    for (const pair of Metric.unsafeSnapshot()) {
      if (pair.metricKey.name !== name) continue
      const labels = Object.fromEntries(pair.metricKey.tags.map((t) => [t.key, t.value]))
      if (labels["test"] !== this.tag) continue
      if (Object.entries(tags).every(([k, v]) => labels[k] === v)) return pair.metricState
    }
    return undefined
  }

  counter(name: string, tags: Record<string, string> = {}): number {
    const s = this.find(name, tags)
    return s !== undefined && MetricState.isCounterState(s) ? Number(s.count) : 0
  }

  gauge(name: string, tags: Record<string, string> = {}): number {
    const s = this.find(name, tags)
    return s !== undefined && MetricState.isGaugeState(s) ? Number(s.value) : 0
  }
}
