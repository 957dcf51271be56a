package dev.flinkscaler.sandbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** Builds the scenario's job: one Flink job vertex per scenario vertex (no chaining). */
final class JobBuilder {
  private JobBuilder() {}

  static JobGraph build(Spec spec, Curve curve) {
    Map<String, String> conf = new HashMap<>();
    conf.put("pipeline.name", spec.jobName);
    conf.put("execution.checkpointing.interval", Long.toString(spec.checkpointIntervalMs));
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(Configuration.fromMap(conf));
    env.disableOperatorChaining();
    int sources = 0;
    for (Spec.Vertex v : spec.vertices) {
      if (v.isSource()) sources++;
    }
    Map<String, DataStream<Long>> streams = new HashMap<>();
    for (Spec.Vertex v : spec.vertices) {
      SingleOutputStreamOperator<Long> op;
      if (v.isSource()) {
        String name = v.name.replaceFirst("^Source: ", "");
        op = env.fromSource(new ScenarioSource(v, curve, sources), WatermarkStrategy.noWatermarks(), name, Types.LONG);
      } else {
        List<DataStream<Long>> ins = new ArrayList<>();
        for (String in : v.inputs) ins.add(streams.get(in));
        DataStream<Long> u = ins.get(0);
        if (ins.size() > 1) {
          @SuppressWarnings("unchecked")
          DataStream<Long>[] rest = ins.subList(1, ins.size()).toArray(new DataStream[0]);
          u = u.union(rest);
        }
        DataStream<Long> exchanged = v.keyed ? u.keyBy(new Identity()) : u.rebalance();
        op = exchanged.flatMap(new CostFunction(v)).returns(Types.LONG).name(v.name);
      }
      op.uid(v.name).setParallelism(v.parallelism).setMaxParallelism(v.maxParallelism);
      op.slotSharingGroup(group(spec, v));
      streams.put(v.name, op);
    }
    return env.getStreamGraph().getJobGraph();
  }

  private static String group(Spec spec, Spec.Vertex v) {
    if ("dedicated".equals(spec.slotSharing)) return "vertex-" + v.name;
    return v.slotSharingGroup == null || v.slotSharingGroup.isEmpty() ? "default" : v.slotSharingGroup;
  }

  /** Records are their own keys. */
  static final class Identity implements KeySelector<Long, Long> {
    private static final long serialVersionUID = 1L;

    @Override
    public Long getKey(Long value) {
      return value;
    }
  }
}
