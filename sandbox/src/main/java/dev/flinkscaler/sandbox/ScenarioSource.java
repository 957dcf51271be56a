package dev.flinkscaler.sandbox;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.SourceReaderMetricGroup;

/**
 * A FLIP-27 source that behaves like a Kafka topic for an autoscaler: one split per partition,
 * each partition's end offset grows with the offered load by wall clock, readers consume at their
 * per-record cost, the backlog (end offset − consumed offset) is the pendingRecords gauge, and
 * consumed offsets are the splits' checkpointed state, so a restart replays and a rescale
 * redistributes the backlog.
 */
final class ScenarioSource implements Source<Long, ScenarioSource.Split, List<ScenarioSource.Split>> {
  private static final long serialVersionUID = 1L;
  private static final int BATCH = 64;
  private static final ScheduledExecutorService TIMER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "sandbox-source-timer");
            t.setDaemon(true);
            return t;
          });

  private final Spec.Vertex vertex;
  private final Curve curve;
  private final int sources;

  ScenarioSource(Spec.Vertex vertex, Curve curve, int sources) {
    this.vertex = vertex;
    this.curve = curve;
    this.sources = sources;
  }

  private int partitions() {
    return Math.max(1, vertex.partitions);
  }

  /** End offset of every partition of this source at nowMs. */
  long endOffset(long nowMs) {
    return (long) Math.floor(curve.offered(nowMs) / sources / partitions());
  }

  @Override
  public Boundedness getBoundedness() {
    return Boundedness.CONTINUOUS_UNBOUNDED;
  }

  @Override
  public SplitEnumerator<Split, List<Split>> createEnumerator(SplitEnumeratorContext<Split> ctx) {
    // Like a Kafka source starting at the latest offsets: no backlog at the start.
    long start = endOffset(System.currentTimeMillis());
    List<Split> all = new ArrayList<>();
    for (int i = 0; i < partitions(); i++) {
      all.add(new Split(i, start));
      Registry.setOffset(key(i), start);
    }
    return new Enumerator(ctx, all);
  }

  @Override
  public SplitEnumerator<Split, List<Split>> restoreEnumerator(
      SplitEnumeratorContext<Split> ctx, List<Split> checkpoint) {
    return new Enumerator(ctx, new ArrayList<>(checkpoint));
  }

  @Override
  public SimpleVersionedSerializer<Split> getSplitSerializer() {
    return new SplitSerializer();
  }

  @Override
  public SimpleVersionedSerializer<List<Split>> getEnumeratorCheckpointSerializer() {
    return new PendingSerializer();
  }

  @Override
  public SourceReader<Long, Split> createReader(SourceReaderContext ctx) {
    return new Reader(ctx);
  }

  /** The registry key of partition i of this source (sources share the registry). */
  int key(int partition) {
    return vertex.name.hashCode() * 31 + partition;
  }

  /** One partition and the offset read so far. */
  static final class Split implements SourceSplit {
    final int partition;
    volatile long offset; // read by the metric threads (gauges)

    Split(int partition, long offset) {
      this.partition = partition;
      this.offset = offset;
    }

    @Override
    public String splitId() {
      return "partition-" + partition;
    }
  }

  static final class SplitSerializer implements SimpleVersionedSerializer<Split> {
    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(Split s) throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream(12);
      DataOutputStream out = new DataOutputStream(b);
      out.writeInt(s.partition);
      out.writeLong(s.offset);
      return b.toByteArray();
    }

    @Override
    public Split deserialize(int version, byte[] data) throws IOException {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
      return new Split(in.readInt(), in.readLong());
    }
  }

  static final class PendingSerializer implements SimpleVersionedSerializer<List<Split>> {
    private final SplitSerializer splits = new SplitSerializer();

    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(List<Split> pending) throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(b);
      out.writeInt(pending.size());
      for (Split s : pending) {
        out.write(splits.serialize(s));
      }
      return b.toByteArray();
    }

    @Override
    public List<Split> deserialize(int version, byte[] data) throws IOException {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
      int n = in.readInt();
      List<Split> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(new Split(in.readInt(), in.readLong()));
      }
      return out;
    }
  }

  /** Assigns partition i to reader i mod parallelism, as Kafka's enumerator does round robin. */
  static final class Enumerator implements SplitEnumerator<Split, List<Split>> {
    private final SplitEnumeratorContext<Split> ctx;
    private final List<Split> pending;

    Enumerator(SplitEnumeratorContext<Split> ctx, List<Split> pending) {
      this.ctx = ctx;
      this.pending = pending;
    }

    @Override
    public void start() {}

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {}

    @Override
    public void addSplitsBack(List<Split> splits, int subtaskId) {
      pending.addAll(splits);
      assign();
    }

    @Override
    public void addReader(int subtaskId) {
      assign();
    }

    private void assign() {
      int p = ctx.currentParallelism();
      Map<Integer, List<Split>> out = new HashMap<>();
      List<Split> left = new ArrayList<>();
      for (Split s : pending) {
        int owner = s.partition % p;
        if (ctx.registeredReaders().containsKey(owner)) {
          out.computeIfAbsent(owner, k -> new ArrayList<>()).add(s);
        } else {
          left.add(s);
        }
      }
      pending.clear();
      pending.addAll(left);
      if (!out.isEmpty()) {
        ctx.assignSplits(new SplitsAssignment<>(out));
      }
    }

    @Override
    public List<Split> snapshotState(long checkpointId) {
      return new ArrayList<>(pending);
    }

    @Override
    public void close() {}
  }

  /** Reads its partitions up to their end offsets at the vertex's per-record cost. */
  final class Reader implements SourceReader<Long, Split> {
    private final SourceReaderContext ctx;
    private final List<Split> splits = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Cost cost;
    private final Counter recordsIn;
    private final Registry.VertexCounters counters;
    private int next;

    Reader(SourceReaderContext ctx) {
      this.ctx = ctx;
      int p = ctx.currentParallelism();
      this.counters = Registry.vertex(vertex.name);
      this.cost = new Cost(vertex.subtaskCapacityAt(p), counters.cost(ctx.getIndexOfSubtask()));
      SourceReaderMetricGroup metrics = ctx.metricGroup();
      this.recordsIn = metrics.getIOMetricGroup().getNumRecordsInCounter();
      // Computed when read, like a Kafka consumer's lag, so it keeps growing
      // while back-pressure stops pollNext.
      metrics.setPendingRecordsGauge(this::pending);
    }

    @Override
    public void start() {}

    @Override
    public InputStatus pollNext(ReaderOutput<Long> output) throws Exception {
      long end = endOffset(System.currentTimeMillis());
      int emitted = 0;
      for (int n = 0; n < splits.size() && emitted < BATCH; n++) {
        Split s = splits.get((next + n) % Math.max(1, splits.size()));
        while (s.offset < end && emitted < BATCH) {
          output.collect(CostFunction.mix(((long) s.partition << 48) ^ s.offset));
          s.offset++;
          emitted++;
        }
        Registry.setOffset(key(s.partition), s.offset);
      }
      next++;
      if (emitted == 0) {
        return InputStatus.NOTHING_AVAILABLE;
      }
      recordsIn.inc(emitted);
      counters.in.add(emitted);
      counters.out.add(emitted);
      cost.pay(emitted);
      return InputStatus.MORE_AVAILABLE;
    }

    private long pending() {
      long end = endOffset(System.currentTimeMillis());
      long backlog = 0;
      for (Split s : splits) {
        backlog += Math.max(0, end - s.offset);
      }
      return backlog;
    }

    @Override
    public List<Split> snapshotState(long checkpointId) {
      List<Split> out = new ArrayList<>(splits.size());
      for (Split s : splits) {
        out.add(new Split(s.partition, s.offset));
      }
      return out;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
      CompletableFuture<Void> f = new CompletableFuture<>();
      TIMER.schedule(() -> f.complete(null), splits.isEmpty() ? 50 : 5, TimeUnit.MILLISECONDS);
      return f;
    }

    @Override
    public void addSplits(List<Split> added) {
      for (Split s : added) {
        splits.add(s);
        Registry.setOffset(key(s.partition), s.offset);
        String topic = vertex.name.replaceFirst("^Source: ", "").replaceAll("[ .:,]", "_");
        ctx.metricGroup()
            .addGroup("KafkaSourceReader")
            .addGroup("topic", topic)
            .addGroup("partition", Integer.toString(s.partition))
            .gauge("currentOffset", () -> s.offset);
      }
    }

    @Override
    public void notifyNoMoreSplits() {}

    @Override
    public void close() {}
  }
}
