import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.ParallelSourceFunction;

/**
 * What Flink reports for a legacy SourceFunction: three jobs on one MiniCluster, each a legacy
 * source into a map and a sink (no chaining), the source below its ceiling, at it, and
 * back-pressured by a slow map. After a settle, prints one line per job: "case source-metrics
 * map-metrics", each the JSON Flink's REST API answers for the vertex's subtask metrics (max).
 * Usage: java -cp <sandbox jar>:. LegacyProbe <settle seconds>
 */
public class LegacyProbe {
  /** Emits up to offered records/s in batches of 20, each batch costing batchNs of busy wall time. */
  public static class Legacy implements ParallelSourceFunction<Long> {
    private static final long serialVersionUID = 1L;
    private final double offered;
    private final long batchNs;
    private volatile boolean run = true;

    Legacy(double offered, long batchNs) {
      this.offered = offered;
      this.batchNs = batchNs;
    }

    @Override
    public void run(SourceContext<Long> ctx) throws Exception {
      long start = System.nanoTime();
      long n = 0;
      while (run) {
        if (n >= (System.nanoTime() - start) / 1e9 * offered) {
          Thread.sleep(1);
          continue;
        }
        long until = System.nanoTime() + batchNs;
        while (System.nanoTime() < until) {
          Thread.onSpinWait();
        }
        synchronized (ctx.getCheckpointLock()) {
          for (int i = 0; i < 20; i++) ctx.collect(n++);
        }
      }
    }

    @Override
    public void cancel() {
      run = false;
    }
  }

  /** Sleeps 1 ms every sleepEvery records (0: never). */
  public static class Slow implements MapFunction<Long, Long> {
    private static final long serialVersionUID = 1L;
    private final long sleepEvery;
    private long k;

    Slow(long sleepEvery) {
      this.sleepEvery = sleepEvery;
    }

    @Override
    public Long map(Long v) throws Exception {
      if (sleepEvery > 0 && ++k % sleepEvery == 0) Thread.sleep(1);
      return v;
    }
  }

  public static void main(String[] args) throws Exception {
    long settle = Long.parseLong(args[0]);
    Configuration c = new Configuration();
    c.setString("rest.bind-address", "127.0.0.1");
    c.setString("rest.address", "127.0.0.1");
    c.setString("rest.port", "0");
    c.setString("metrics.fetcher.update-interval", "1000");
    MiniCluster mc =
        new MiniCluster(
            new MiniClusterConfiguration.Builder()
                .setConfiguration(c)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(3)
                .build());
    mc.start();
    URI rest = mc.getRestAddress().get(60, TimeUnit.SECONDS);
    // name, offered records/s, ns per batch of 20 (the ceiling is 20e9 / it), map's sleep period
    Object[][] cases = {
      {"below", 1000.0, 200_000L, 0L}, // ceiling ~100k/s, reads 1k/s
      {"ceiling", 1e9, 4_000_000L, 0L}, // ceiling ~5k/s, asked for far more
      {"backpressured", 1e9, 20_000L, 2L}, // the map carries ~2k/s
    };
    List<JobID> jobs = new ArrayList<>();
    for (Object[] k : cases) {
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      env.disableOperatorChaining();
      env.addSource(new Legacy((Double) k[1], (Long) k[2]), "legacy", Types.LONG)
          .setParallelism(1)
          .rebalance()
          .map(new Slow((Long) k[3]))
          .name("map")
          .setParallelism(1)
          .addSink(new DiscardingSink<>())
          .setParallelism(1);
      jobs.add(mc.submitJob(env.getStreamGraph().getJobGraph()).get(60, TimeUnit.SECONDS).getJobID());
    }
    Thread.sleep(settle * 1000);
    HttpClient h = HttpClient.newHttpClient();
    for (int j = 0; j < cases.length; j++) {
      String base = "http://127.0.0.1:" + rest.getPort() + "/jobs/" + jobs.get(j);
      StringBuilder line = new StringBuilder((String) cases[j][0]);
      Matcher m = Pattern.compile("\"id\":\"([0-9a-f]{32})\"").matcher(get(h, base));
      List<String> seen = new ArrayList<>();
      while (m.find() && seen.size() < 2) {
        if (m.group(1).equals(jobs.get(j).toHexString()) || seen.contains(m.group(1))) continue;
        seen.add(m.group(1));
        // A query naming a metric the vertex lacks is answered with nothing.
        String ids =
            "busyTimeMsPerSecond,idleTimeMsPerSecond,backPressuredTimeMsPerSecond,"
                + "hardBackPressuredTimeMsPerSecond,softBackPressuredTimeMsPerSecond,"
                + "numRecordsInPerSecond,numRecordsOutPerSecond"
                + (seen.size() == 1
                    ? ",Source__legacy.numRecordsInPerSecond,Source__legacy.numRecordsOutPerSecond"
                    : "");
        get(h, base + "/vertices/" + m.group(1) + "/subtasks/metrics?get=" + ids); // warm the fetch
        Thread.sleep(2000);
        line.append(' ').append(get(h, base + "/vertices/" + m.group(1) + "/subtasks/metrics?get=" + ids + "&agg=max"));
      }
      System.out.println(line);
    }
    System.exit(0);
  }

  private static String get(HttpClient h, String url) throws Exception {
    return h.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }
}
