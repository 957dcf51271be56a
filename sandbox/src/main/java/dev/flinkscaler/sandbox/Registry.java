package dev.flinkscaler.sandbox;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the job's tasks tell the sandbox's ground truth. Tasks run in this JVM (a MiniCluster) and
 * the job's classes come from the application class loader, so these statics are shared.
 */
final class Registry {
  private Registry() {}

  /** Consumed offset per partition (split index): records read so far. */
  static final ConcurrentHashMap<Integer, AtomicLong> offsets = new ConcurrentHashMap<>();

  /** Per vertex name: records in and out, and time spent on the per-record cost. */
  static final ConcurrentHashMap<String, VertexCounters> vertices = new ConcurrentHashMap<>();

  static VertexCounters vertex(String name) {
    return vertices.computeIfAbsent(name, k -> new VertexCounters());
  }

  static void setOffset(int partition, long offset) {
    offsets.computeIfAbsent(partition, k -> new AtomicLong()).set(offset);
  }

  /** Counters of one vertex; cost time is kept per subtask index. */
  static final class VertexCounters {
    final LongAdder in = new LongAdder();
    final LongAdder out = new LongAdder();
    final ConcurrentHashMap<Integer, LongAdder> costNanos = new ConcurrentHashMap<>();

    LongAdder cost(int subtask) {
      return costNanos.computeIfAbsent(subtask, k -> new LongAdder());
    }
  }
}
