package dev.flinkscaler.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.AccessExecution;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.messages.webmonitor.ClusterOverview;
import org.apache.flink.runtime.taskexecutor.TaskExecutor;
import org.apache.flink.runtime.taskmanager.TaskManagerLocation;

/** A MiniCluster running the scenario's job, its TaskManagers under control, and ground truth. */
final class Sandbox {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Spec spec;
  private final ScheduledExecutorService exec =
      Executors.newScheduledThreadPool(
          2,
          r -> {
            Thread t = new Thread(r, "sandbox-control");
            t.setDaemon(true);
            return t;
          });
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Object lock = new Object();

  private Cluster cluster;
  private HttpServer control;
  private Curve curve;
  private JobID jobId;
  private String restUrl;

  // Guarded by lock.
  private final List<TaskExecutor> live = new ArrayList<>();
  private final List<ScheduledFuture<?>> starting = new ArrayList<>();
  private final Truth truth = new Truth();

  Sandbox(Spec spec) {
    this.spec = spec;
  }

  /** A MiniCluster whose TaskManagers always use the network stack (also those added later). */
  static final class Cluster extends MiniCluster {
    Cluster(MiniClusterConfiguration c) {
      super(c);
    }

    @Override
    protected boolean useLocalCommunication() {
      return false;
    }
  }

  Configuration flinkConfig() {
    Map<String, String> c = new HashMap<>();
    c.put("jobmanager.scheduler", "adaptive");
    if ("reactive".equals(spec.scaling)) c.put("scheduler-mode", "reactive");
    c.put("rest.address", spec.host);
    c.put("rest.bind-address", spec.host);
    c.put("rest.bind-port", Integer.toString(spec.restPort));
    c.put("rest.port", Integer.toString(spec.restPort));
    c.put("jobmanager.bind-host", spec.host);
    c.put("taskmanager.bind-host", spec.host);
    c.put("taskmanager.host", spec.host);
    // Metrics reach the REST API within a second (the default fetch interval is 10 s).
    c.put("metrics.fetcher.update-interval", "1000");
    c.put("web.refresh-interval", "1000");
    // A lost TaskManager restarts the job rather than failing it.
    c.put("restart-strategy.type", "fixed-delay");
    c.put("restart-strategy.fixed-delay.attempts", Integer.toString(Integer.MAX_VALUE));
    c.put("restart-strategy.fixed-delay.delay", "1000");
    c.put("execution.checkpointing.interval", Long.toString(spec.checkpointIntervalMs));
    c.put("jobmanager.adaptive-scheduler.resource-stabilization-timeout", "2000");
    c.put("slot.idle.timeout", "5000");
    // Small TaskManagers: the machine runs many of them in one JVM.
    c.put("taskmanager.memory.network.min", "32m");
    c.put("taskmanager.memory.network.max", "32m");
    c.put("taskmanager.memory.managed.size", "16m");
    // The sandbox carries few records per second (each may stand for many),
    // so Flink's default 32 KiB buffers would hold minutes of data in flight
    // before back-pressure reaches the source. Small buffers, few of them,
    // and buffer debloating keep about a second in flight, as at production
    // rates.
    c.put("taskmanager.memory.segment-size", "4kb");
    c.put("taskmanager.network.memory.floating-buffers-per-gate", "2");
    c.put("taskmanager.network.memory.buffer-debloat.enabled", "true");
    c.put("taskmanager.network.memory.buffer-debloat.target", "1000");
    c.put("taskmanager.numberOfTaskSlots", Integer.toString(spec.slotsPerTaskManager));
    c.putAll(spec.flinkConfig);
    return Configuration.fromMap(c);
  }

  void start() throws Exception {
    MiniClusterConfiguration mc =
        new MiniClusterConfiguration.Builder()
            .setConfiguration(flinkConfig())
            .setNumTaskManagers(spec.initialTaskManagers)
            .setNumSlotsPerTaskManager(spec.slotsPerTaskManager)
            .build();
    cluster = new Cluster(mc);
    cluster.start();
    synchronized (lock) {
      live.addAll(taskExecutors());
    }
    URI rest = cluster.getRestAddress().get(60, TimeUnit.SECONDS);
    restUrl = "http://" + spec.host + ":" + rest.getPort();
    curve = new Curve(System.currentTimeMillis(), spec.rateStepMs, spec.rates);
    JobGraph job = JobBuilder.build(spec, curve);
    jobId = cluster.submitJob(job).get(60, TimeUnit.SECONDS).getJobID();
    control = HttpServer.create(new InetSocketAddress(spec.host, spec.controlPort), 16);
    control.createContext("/flinksim/v1/", this::serve);
    control.setExecutor(Executors.newFixedThreadPool(2));
    control.start();
    exec.scheduleAtFixedRate(this::sample, 200, 200, TimeUnit.MILLISECONDS);
    for (Spec.Loss l : spec.lostTaskManagers == null ? List.<Spec.Loss>of() : spec.lostTaskManagers) {
      exec.schedule(() -> loseOne(l), Math.max(0, l.atMs), TimeUnit.MILLISECONDS);
    }
  }

  String restUrl() {
    return restUrl;
  }

  String controlUrl() {
    return "http://" + spec.host + ":" + control.getAddress().getPort();
  }

  String jobId() {
    return jobId.toHexString();
  }

  void close() {
    exec.shutdownNow();
    if (control != null) control.stop(0);
    if (cluster != null) {
      try {
        cluster.close();
      } catch (Exception e) {
        System.err.println("sandbox: closing the MiniCluster: " + e);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private List<TaskExecutor> taskExecutors() throws ReflectiveOperationException {
    Field f = MiniCluster.class.getDeclaredField("taskManagers");
    f.setAccessible(true);
    synchronized (f.get(cluster)) {
      return new ArrayList<>((List<TaskExecutor>) f.get(cluster));
    }
  }

  // ---- TaskManagers ----

  private int replicas() {
    return live.size() + starting.size();
  }

  /** Sets the TaskManager count: new ones register after the scenario's start-up time. */
  int setReplicas(int n) throws Exception {
    n = Math.max(0, Math.min(n, spec.maxTaskManagers));
    synchronized (lock) {
      while (replicas() < n) {
        scheduleStart();
      }
      while (replicas() > n && !starting.isEmpty()) {
        starting.remove(starting.size() - 1).cancel(false);
      }
      if (replicas() > n) {
        Set<ResourceID> used = slotsInUse();
        List<TaskExecutor> order = new ArrayList<>();
        for (int i = live.size() - 1; i >= 0; i--) {
          if (!used.contains(live.get(i).getResourceID())) order.add(live.get(i));
        }
        for (int i = live.size() - 1; i >= 0; i--) {
          if (used.contains(live.get(i).getResourceID())) order.add(live.get(i));
        }
        List<TaskExecutor> all = taskExecutors();
        for (TaskExecutor te : order) {
          if (replicas() <= n) break;
          live.remove(te);
          cluster.terminateTaskManager(indexOf(all, te));
        }
      }
    }
    return n;
  }

  /**
   * A fault: one live TaskManager dies (whether it holds tasks or not, as a pod does), and a
   * replacement registers after the scenario's start-up time, as Kubernetes restarts the pod. The
   * job fails over if it lost slots it ran in.
   */
  private Void loseOne(Spec.Loss l) throws Exception {
    synchronized (lock) {
      if (live.isEmpty()) return null;
      int i = Math.min(live.size() - 1, (int) (l.pick * live.size()));
      TaskExecutor te = live.remove(i);
      boolean held = slotsInUse().contains(te.getResourceID());
      cluster.terminateTaskManager(indexOf(taskExecutors(), te));
      scheduleStart();
      System.err.println(
          "sandbox: fault: lost TaskManager " + te.getResourceID() + (held ? " (held tasks)" : " (idle)")
              + " at " + l.atMs + " ms; a replacement starts");
    }
    return null;
  }

  private static int indexOf(List<TaskExecutor> all, TaskExecutor te) {
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i) == te) return i;
    }
    throw new IllegalStateException("unknown TaskManager " + te.getResourceID());
  }

  /**
   * Schedules one TaskManager's start after the scenario's start-up time; the caller holds lock.
   * Each start removes its own entry from starting: one removed by a scale-down (cancelled, or
   * already waiting for the lock) starts nothing.
   */
  private void scheduleStart() {
    AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
    self.set(exec.schedule(() -> startOne(self), spec.taskManagerStartupMs, TimeUnit.MILLISECONDS));
    starting.add(self.get());
  }

  private Void startOne(AtomicReference<ScheduledFuture<?>> self) throws Exception {
    synchronized (lock) { // taken after scheduleStart's caller released it: self is set
      if (!starting.remove(self.get())) return null;
      List<TaskExecutor> before = taskExecutors();
      cluster.startTaskManager();
      for (TaskExecutor te : taskExecutors()) {
        if (!before.contains(te)) live.add(te);
      }
    }
    return null;
  }

  /**
   * Live TaskManagers running none of the job's current executions: those Flink's resource manager
   * releases after resourcemanager.taskmanager-timeout. 0 when the graph cannot be read (none is
   * then taken to be idle); the caller holds lock.
   */
  private int idleTaskManagers() {
    try {
      Set<ResourceID> used = slotsInUse();
      int idle = 0;
      for (TaskExecutor te : live) {
        if (!used.contains(te.getResourceID())) idle++;
      }
      return idle;
    } catch (Exception e) {
      return 0;
    }
  }

  /** TaskManagers holding a slot of the job's current executions. */
  private Set<ResourceID> slotsInUse() throws Exception {
    Set<ResourceID> used = new HashSet<>();
    AccessExecutionGraph g = cluster.getExecutionGraph(jobId).get(10, TimeUnit.SECONDS);
    for (AccessExecutionJobVertex v : g.getAllVertices().values()) {
      for (AccessExecutionVertex ev : v.getTaskVertices()) {
        AccessExecution e = ev.getCurrentExecutionAttempt();
        TaskManagerLocation loc = e.getAssignedResourceLocation();
        if (loc != null && !e.getState().isTerminal()) used.add(loc.getResourceID());
      }
    }
    return used;
  }

  // ---- Ground truth ----

  /** Sampled state: restarts and downtime need watching the job between requests. */
  private static final class Truth {
    String state = "CREATED";
    boolean everRunning;
    int restarts;
    long runningSince; // the RUNNING status timestamp of the last running sample
    long downtimeMs;
    long lastSampleMs;
    // The parallelism each vertex last ran at: while the job is down after a
    // failover (WaitingForResources) Flink's graph shows the job graph's
    // submission parallelism, which the job is not running at.
    Map<String, Integer> parallelism = new LinkedHashMap<>();
    Map<String, String> ids = new LinkedHashMap<>();
    Map<String, long[]> last = new HashMap<>(); // in, out, at
    Map<String, double[]> rates = new HashMap<>(); // in/s, out/s
    Map<String, Map<Integer, Long>> lastCost = new HashMap<>();
    Map<String, Double> maxBusy = new HashMap<>();
  }

  private void sample() {
    try {
      AccessExecutionGraph g = cluster.getExecutionGraph(jobId).get(5, TimeUnit.SECONDS);
      long now = System.currentTimeMillis();
      synchronized (lock) {
        String state = g.getState().name();
        if (truth.everRunning && !"RUNNING".equals(truth.state)) truth.downtimeMs += now - truth.lastSampleMs;
        boolean wasRunning = "RUNNING".equals(truth.state), running = "RUNNING".equals(state);
        long since = running ? g.getStatusTimestamp(JobStatus.RUNNING) : 0;
        if (wasRunning && !running) truth.restarts++;
        // A rescale on this MiniCluster can restart the job within one
        // sampling period: running then and now, but since a later start.
        else if (wasRunning && running && truth.runningSince != 0 && since != truth.runningSince) truth.restarts++;
        if (running) {
          truth.everRunning = true;
          truth.runningSince = since;
        }
        truth.state = state;
        truth.lastSampleMs = now;
        for (AccessExecutionJobVertex v : g.getVerticesTopologically()) {
          if (running) truth.parallelism.put(v.getName(), v.getParallelism());
          truth.ids.put(v.getName(), v.getJobVertexId().toHexString());
        }
        for (Map.Entry<String, Registry.VertexCounters> e : Registry.vertices.entrySet()) {
          Registry.VertexCounters c = e.getValue();
          long in = c.in.sum(), out = c.out.sum();
          long[] prev = truth.last.get(e.getKey());
          if (prev != null && now - prev[2] >= 1000) {
            double dt = (now - prev[2]) / 1000.0;
            truth.rates.put(e.getKey(), new double[] {(in - prev[0]) / dt, (out - prev[1]) / dt});
            Map<Integer, Long> lc = truth.lastCost.computeIfAbsent(e.getKey(), k -> new HashMap<>());
            double busy = 0;
            for (Map.Entry<Integer, java.util.concurrent.atomic.LongAdder> s : c.costNanos.entrySet()) {
              long v = s.getValue().sum();
              Long was = lc.put(s.getKey(), v);
              if (was != null) busy = Math.max(busy, Math.min(1000, (v - was) / 1e6 / dt));
            }
            truth.maxBusy.put(e.getKey(), busy);
            truth.last.put(e.getKey(), new long[] {in, out, now});
          } else if (prev == null) {
            truth.last.put(e.getKey(), new long[] {in, out, now});
          }
        }
      }
    } catch (Exception e) {
      // The next sample tries again; a JobManager busy restarting may not answer in time.
    }
  }

  private Map<String, Object> groundTruth() throws Exception {
    long now = System.currentTimeMillis();
    ClusterOverview o = cluster.requestClusterOverview().get(10, TimeUnit.SECONDS);
    Map<String, Object> req = requirements();
    Map<String, Object> out = new LinkedHashMap<>();
    double offered = curve.rate(now);
    double backlog = 0;
    List<Map<String, Object>> vertices = new ArrayList<>();
    synchronized (lock) {
      out.put("time", Instant.ofEpochMilli(now).toString());
      out.put("elapsedSeconds", (now - curve.epochMs()) / 1000.0);
      out.put("state", truth.state);
      out.put("offeredRate", offered);
      out.put("taskManagers", replicas());
      out.put("registeredTaskManagers", o.getNumTaskManagersConnected());
      out.put("idleTaskManagers", idleTaskManagers());
      out.put("slotsTotal", o.getNumSlotsTotal());
      out.put("slotsInUse", o.getNumSlotsTotal() - o.getNumSlotsAvailable());
      for (Spec.Vertex v : spec.vertices) {
        String flinkName = flinkName(v);
        int p = truth.parallelism.getOrDefault(flinkName, v.parallelism);
        double[] r = truth.rates.getOrDefault(v.name, new double[2]);
        double busy = truth.maxBusy.getOrDefault(v.name, 0.0);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", truth.ids.getOrDefault(flinkName, ""));
        m.put("name", v.name);
        m.put("parallelism", p);
        m.put("requirement", req.getOrDefault(truth.ids.getOrDefault(flinkName, ""), Map.of()));
        m.put("capacity", v.vertexCapacityAt(p));
        m.put("recordsInPerSecond", r[0]);
        m.put("recordsOutPerSecond", r[1]);
        m.put("saturated", busy >= 950);
        m.put("backPressured", false);
        m.put("maxBusyMsPerSecond", busy);
        double vb = 0;
        if (v.isSource()) {
          vb = sourceBacklog(v, now);
          backlog += vb;
        }
        m.put("backlog", vb);
        vertices.add(m);
      }
      out.put("backlog", backlog);
      out.put("lagSeconds", backlog == 0 ? 0 : offered > 0 ? backlog / offered : "Infinity");
      out.put("restarts", truth.restarts);
      out.put("downtimeSeconds", truth.downtimeMs / 1000.0);
      out.put("recordScale", spec.recordScale);
      out.put("vertices", vertices);
    }
    return out;
  }

  private static String flinkName(Spec.Vertex v) {
    if (!v.isSource()) return v.name;
    return v.name.startsWith("Source: ") ? v.name : "Source: " + v.name;
  }

  private double sourceBacklog(Spec.Vertex v, long now) {
    int sources = 0;
    for (Spec.Vertex s : spec.vertices) if (s.isSource()) sources++;
    ScenarioSource src = new ScenarioSource(v, curve, sources);
    long end = src.endOffset(now);
    double b = 0;
    for (int i = 0; i < Math.max(1, v.partitions); i++) {
      var off = Registry.offsets.get(src.key(i));
      if (off != null) b += Math.max(0, end - off.get());
    }
    return b;
  }

  /** The job's resource requirements as Flink's REST API reports them, by vertex id. */
  private Map<String, Object> requirements() {
    Map<String, Object> out = new HashMap<>();
    try {
      HttpRequest r =
          HttpRequest.newBuilder(URI.create(restUrl + "/jobs/" + jobId() + "/resource-requirements"))
              .timeout(Duration.ofSeconds(5))
              .build();
      JsonNode n = JSON.readTree(http.send(r, HttpResponse.BodyHandlers.ofString()).body());
      n.fields()
          .forEachRemaining(
              e -> {
                JsonNode p = e.getValue().path("parallelism");
                Map<String, Object> b = new LinkedHashMap<>();
                b.put("lowerBound", p.path("lowerBound").asInt());
                b.put("upperBound", p.path("upperBound").asInt());
                out.put(e.getKey(), b);
              });
    } catch (Exception e) {
      // Reported as an empty requirement.
    }
    return out;
  }

  // ---- HTTP ----

  private void serve(HttpExchange x) throws IOException {
    String path = x.getRequestURI().getPath().substring("/flinksim/v1/".length());
    String method = x.getRequestMethod();
    try {
      if (path.equals("taskmanagers") && method.equals("GET")) {
        reply(x, 200, taskManagersState());
      } else if (path.equals("taskmanagers") && method.equals("PUT")) {
        JsonNode body;
        try {
          body = JSON.readTree(x.getRequestBody().readNBytes(1 << 16));
        } catch (IOException e) {
          body = null;
        }
        JsonNode n = body == null ? null : body.get("replicas");
        if (n == null || !n.canConvertToInt() || n.asInt() < 0) {
          reply(x, 400, Map.of("errors", List.of("body must be {\"replicas\": N} with N >= 0")));
          return;
        }
        setReplicas(n.asInt());
        reply(x, 200, taskManagersState());
      } else if (path.equals("groundtruth") && method.equals("GET")) {
        reply(x, 200, groundTruth());
      } else {
        reply(x, 404, Map.of("errors", List.of("Not found: " + x.getRequestURI().getPath())));
      }
    } catch (Exception e) {
      reply(x, 500, Map.of("errors", List.of(String.valueOf(e))));
    }
  }

  private Map<String, Object> taskManagersState() throws Exception {
    ClusterOverview o = cluster.requestClusterOverview().get(10, TimeUnit.SECONDS);
    Map<String, Object> m = new LinkedHashMap<>();
    synchronized (lock) {
      m.put("replicas", replicas());
    }
    m.put("registered", o.getNumTaskManagersConnected());
    m.put("slotsPerTaskManager", spec.slotsPerTaskManager);
    m.put("maxTaskManagers", spec.maxTaskManagers);
    return m;
  }

  private static void reply(HttpExchange x, int status, Object body) throws IOException {
    byte[] data = JSON.writeValueAsBytes(body);
    x.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
    x.sendResponseHeaders(status, data.length);
    try (OutputStream os = x.getResponseBody()) {
      os.write(data);
    }
  }
}
