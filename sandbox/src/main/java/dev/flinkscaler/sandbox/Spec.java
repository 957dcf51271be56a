package dev.flinkscaler.sandbox;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The scenario as the Go side normalizes it: parsed, validated and defaulted by the one scenario
 * parser, with the load curve sampled and all rates in sandbox records (scenario records divided by
 * recordScale).
 */
public final class Spec implements Serializable {
  private static final long serialVersionUID = 1L;

  public String name;
  public String jobName;
  /** "adaptive" or "reactive". */
  public String scaling = "adaptive";
  public int slotsPerTaskManager = 1;
  /** "shared" or "dedicated". */
  public String slotSharing = "shared";
  public int initialTaskManagers = 2;
  public int maxTaskManagers = 16;
  public long taskManagerStartupMs;
  public long checkpointIntervalMs = 60_000;
  /** Scenario records per sandbox record. */
  public double recordScale = 1;
  /** Offered records/s (all sources together, sandbox records) every rateStepMs from the start. */
  public long rateStepMs = 1000;
  public double[] rates = new double[] {0};
  public List<Vertex> vertices = new ArrayList<>();
  /** Where Flink's REST endpoint and the control endpoints bind (0 = a free port). */
  public String host = "127.0.0.1";
  public int restPort;
  public int controlPort;
  /** Flink configuration entries applied last (tests and calibration). */
  public java.util.Map<String, String> flinkConfig = new java.util.HashMap<>();
  /** TaskManagers the scenario's faults lose, in order of time. */
  public List<Loss> lostTaskManagers = new ArrayList<>();

  /** One TaskManager lost atMs after the start: the pick-th fraction of the live ones. */
  public static final class Loss implements Serializable {
    private static final long serialVersionUID = 1L;
    public long atMs;
    /** 0 ≤ pick < 1: which live TaskManager (in order of start) dies. */
    public double pick;
  }

  /** One job vertex. */
  public static final class Vertex implements Serializable {
    private static final long serialVersionUID = 1L;
    public String name;
    public List<String> inputs = new ArrayList<>();
    public boolean keyed;
    public int parallelism = 1;
    public int maxParallelism = 128;
    /** subtaskCapacity[p-1]: records/s one of p subtasks processes (sandbox records). */
    public double[] subtaskCapacity = new double[] {1};
    /** vertexCapacity[p-1]: the input records/s the vertex sustains at p (skew included). */
    public double[] vertexCapacity = new double[] {1};
    public double selectivity = 1;
    public int partitions;
    public String slotSharingGroup = "";

    boolean isSource() {
      return inputs == null || inputs.isEmpty();
    }

    double subtaskCapacityAt(int p) {
      return subtaskCapacity[Math.max(0, Math.min(p, subtaskCapacity.length) - 1)];
    }

    double vertexCapacityAt(int p) {
      return vertexCapacity[Math.max(0, Math.min(p, vertexCapacity.length) - 1)];
    }
  }

  static Spec read(Path path) throws IOException {
    ObjectMapper m = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
    Spec s = m.readValue(path.toFile(), Spec.class);
    s.check();
    return s;
  }

  private void check() {
    List<String> problems = new ArrayList<>();
    if (!"adaptive".equals(scaling) && !"reactive".equals(scaling)) {
      problems.add("scaling must be adaptive or reactive, got " + scaling);
    }
    if (slotsPerTaskManager < 1) problems.add("slotsPerTaskManager must be at least 1");
    if (initialTaskManagers < 0 || initialTaskManagers > maxTaskManagers) {
      problems.add("initialTaskManagers must be in [0, maxTaskManagers]");
    }
    if (rates == null || rates.length == 0 || rateStepMs <= 0) problems.add("rates: at least one rate and a positive step");
    if (vertices == null || vertices.isEmpty()) problems.add("vertices: at least one");
    if (recordScale <= 0) problems.add("recordScale must be positive");
    if (!problems.isEmpty()) throw new IllegalArgumentException("bad sandbox spec: " + String.join("; ", problems));
  }
}
