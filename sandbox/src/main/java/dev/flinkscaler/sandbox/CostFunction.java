package dev.flinkscaler.sandbox;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.util.Collector;

/** A non-source vertex: pays its per-record cost and emits selectivity records per record. */
final class CostFunction extends RichFlatMapFunction<Long, Long> {
  private static final long serialVersionUID = 1L;

  private final Spec.Vertex vertex;
  private transient Cost cost;
  private transient Registry.VertexCounters counters;
  private transient double owed;
  private transient long seq;

  CostFunction(Spec.Vertex vertex) {
    this.vertex = vertex;
  }

  @Override
  public void open(OpenContext ctx) {
    int p = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    int k = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    counters = Registry.vertex(vertex.name);
    cost = new Cost(vertex.subtaskCapacityAt(p), counters.cost(k));
    seq = ((long) k) << 40;
  }

  @Override
  public void flatMap(Long value, Collector<Long> out) throws Exception {
    counters.in.increment();
    cost.pay(1);
    owed += vertex.selectivity;
    while (owed >= 1) {
      owed -= 1;
      seq++;
      out.collect(mix(value ^ seq));
      counters.out.increment();
    }
  }

  /** A cheap bijective mix, so keys spread over all key groups. */
  static long mix(long x) {
    x ^= x >>> 33;
    x *= 0xff51afd7ed558ccdL;
    x ^= x >>> 33;
    return x;
  }
}
