package dev.flinkscaler.sandbox;

import java.util.concurrent.atomic.LongAdder;

/**
 * A per-record cost paid by sleeping, batched to at least a millisecond: the task is busy (Flink
 * counts time in user code as busy) without using a CPU, so capacity does not depend on the
 * machine's cores.
 */
final class Cost {
  private static final long MIN_SLEEP_NANOS = 1_000_000;
  private static final long MAX_CREDIT_NANOS = 2_000_000;

  private final long perRecordNanos;
  private final LongAdder spent;
  private long debt;

  Cost(double recordsPerSecond, LongAdder spent) {
    this.perRecordNanos = recordsPerSecond > 0 ? (long) (1e9 / recordsPerSecond) : 0;
    this.spent = spent;
  }

  /** Pays for n records: sleeps once the owed time reaches a millisecond. */
  void pay(long n) throws InterruptedException {
    debt += n * perRecordNanos;
    if (debt < MIN_SLEEP_NANOS) {
      return;
    }
    long start = System.nanoTime();
    Thread.sleep(debt / 1_000_000, (int) (debt % 1_000_000));
    long slept = System.nanoTime() - start;
    spent.add(slept);
    debt = Math.max(debt - slept, -MAX_CREDIT_NANOS);
  }
}
