package dev.flinkscaler.sandbox;

import java.io.Serializable;

/** The offered load by wall clock: a piecewise-constant rate and its running total. */
final class Curve implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long epochMs;
  private final long stepMs;
  private final double[] rates;
  private final double[] cumulative; // records offered before step i

  Curve(long epochMs, long stepMs, double[] rates) {
    this.epochMs = epochMs;
    this.stepMs = stepMs;
    this.rates = rates.clone();
    this.cumulative = new double[rates.length + 1];
    for (int i = 0; i < rates.length; i++) {
      cumulative[i + 1] = cumulative[i] + rates[i] * stepMs / 1000.0;
    }
  }

  long epochMs() {
    return epochMs;
  }

  /** Records/s offered at wall-clock time nowMs (the last rate holds after the curve ends). */
  double rate(long nowMs) {
    long t = Math.max(0, nowMs - epochMs);
    int i = (int) Math.min(rates.length - 1, t / stepMs);
    return rates[i];
  }

  /** Records offered from the epoch until nowMs. */
  double offered(long nowMs) {
    long t = Math.max(0, nowMs - epochMs);
    long i = t / stepMs;
    if (i >= rates.length) {
      double last = rates[rates.length - 1];
      return cumulative[rates.length] + last * (t - rates.length * stepMs) / 1000.0;
    }
    return cumulative[(int) i] + rates[(int) i] * (t - i * stepMs) / 1000.0;
  }
}
