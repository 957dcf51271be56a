package dev.flinkscaler.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The sandbox's entry point: {@code java -jar flinkscaler-sandbox.jar SPEC.json}. It starts a real
 * Flink MiniCluster, submits the scenario's job, serves the control endpoints, prints one JSON line
 * ({"rest","control","jobId"}) on stdout once the job is submitted, and exits when its stdin
 * closes (so it never outlives the process that started it).
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1 || args[0].startsWith("-")) {
      System.err.println("usage: java -jar flinkscaler-sandbox.jar SPEC.json (written by flinkscaler sandbox)");
      System.exit(2);
    }
    PrintStream stdout = System.out;
    System.setOut(System.err); // stdout carries only the ready line
    Spec spec = Spec.read(Path.of(args[0]));
    Sandbox sb = new Sandbox(spec);
    try {
      sb.start();
    } catch (Throwable t) {
      System.err.println("sandbox: start failed: " + t);
      t.printStackTrace();
      sb.close();
      System.exit(1);
    }
    Map<String, Object> ready = new LinkedHashMap<>();
    ready.put("rest", sb.restUrl());
    ready.put("control", sb.controlUrl());
    ready.put("jobId", sb.jobId());
    ready.put("flinkVersion", org.apache.flink.runtime.util.EnvironmentInformation.getVersion());
    stdout.println(new ObjectMapper().writeValueAsString(ready));
    stdout.flush();
    while (System.in.read() != -1) {
      // Wait for the parent to close stdin (or die).
    }
    sb.close();
    System.exit(0);
  }
}
