/*
 * flinkscaler's driver for the Flink Kubernetes operator's autoscaler
 * library (org.apache.flink:flink-autoscaler), used when the released
 * flink-autoscaler-standalone jar cannot be resolved. It does what the
 * standalone entrypoint documents and nothing more: it reads the same
 * options (--key value, or $FLINK_CONF_DIR/config.yaml), lists the jobs of
 * one Flink cluster over REST every control-loop interval, overlays each
 * job's JobManager configuration on its own, runs the library's
 * JobAutoScalerImpl (RestApiMetricsCollector, ScalingMetricEvaluator,
 * ScalingExecutor, in-memory state, logging events) and applies parallelism
 * overrides with PUT /jobs/:jobid/resource-requirements.
 */
package flinkscaler.peer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.java.utils.ParameterTool;
import org.apache.flink.autoscaler.JobAutoScaler;
import org.apache.flink.autoscaler.JobAutoScalerContext;
import org.apache.flink.autoscaler.JobAutoScalerImpl;
import org.apache.flink.autoscaler.RestApiMetricsCollector;
import org.apache.flink.autoscaler.ScalingExecutor;
import org.apache.flink.autoscaler.ScalingMetricEvaluator;
import org.apache.flink.autoscaler.config.AutoScalerOptions;
import org.apache.flink.autoscaler.event.AutoScalerEventHandler;
import org.apache.flink.autoscaler.event.LoggingEventHandler;
import org.apache.flink.autoscaler.realizer.ScalingRealizer;
import org.apache.flink.autoscaler.state.AutoScalerStateStore;
import org.apache.flink.autoscaler.state.InMemoryAutoScalerStateStore;
import org.apache.flink.autoscaler.tuning.ConfigChanges;
import org.apache.flink.autoscaler.utils.JobStatusUtils;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.highavailability.nonha.standalone.StandaloneClientHAServices;
import org.apache.flink.runtime.jobgraph.JobResourceRequirements;
import org.apache.flink.runtime.jobgraph.JobVertexID;
import org.apache.flink.runtime.jobgraph.JobVertexResourceRequirements;
import org.apache.flink.runtime.rest.messages.EmptyMessageParameters;
import org.apache.flink.runtime.rest.messages.EmptyRequestBody;
import org.apache.flink.runtime.rest.messages.JobMessageParameters;
import org.apache.flink.runtime.rest.messages.JobsOverviewHeaders;
import org.apache.flink.runtime.rest.messages.job.JobManagerJobConfigurationHeaders;
import org.apache.flink.runtime.rest.messages.job.JobResourceRequirementsBody;
import org.apache.flink.runtime.rest.messages.job.JobResourceRequirementsHeaders;
import org.apache.flink.runtime.rest.messages.job.JobResourcesRequirementsUpdateHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class FlinkscalerAutoscalerDriver {
    private static final Logger LOG = LoggerFactory.getLogger(FlinkscalerAutoscalerDriver.class);

    // The standalone autoscaler's documented options, same keys and defaults.
    static final ConfigOption<Duration> CONTROL_LOOP_INTERVAL =
            ConfigOptions.key("autoscaler.standalone.control-loop.interval")
                    .durationType().defaultValue(Duration.ofSeconds(10))
                    .withDeprecatedKeys("scalingInterval");
    static final ConfigOption<String> HOST =
            ConfigOptions.key("autoscaler.standalone.fetcher.flink-cluster.host")
                    .stringType().defaultValue("localhost")
                    .withDeprecatedKeys("flinkClusterHost");
    static final ConfigOption<Integer> PORT =
            ConfigOptions.key("autoscaler.standalone.fetcher.flink-cluster.port")
                    .intType().defaultValue(8081)
                    .withDeprecatedKeys("flinkClusterPort");

    private final Configuration base;
    private final String address;
    private final Duration timeout;
    private final AutoScalerEventHandler<JobID, JobAutoScalerContext<JobID>> events =
            new LoggingEventHandler<>();
    private final JobAutoScaler<JobID, JobAutoScalerContext<JobID>> autoscaler;
    private List<JobID> lastJobs = new ArrayList<>();

    private FlinkscalerAutoscalerDriver(Configuration conf) {
        this.base = conf;
        this.address = String.format("http://%s:%s", conf.get(HOST), conf.get(PORT));
        this.timeout = conf.get(AutoScalerOptions.FLINK_CLIENT_TIMEOUT);
        AutoScalerStateStore<JobID, JobAutoScalerContext<JobID>> state =
                new InMemoryAutoScalerStateStore<>();
        this.autoscaler = new JobAutoScalerImpl<>(
                new RestApiMetricsCollector<>(),
                new ScalingMetricEvaluator(),
                new ScalingExecutor<>(events, state),
                events,
                new RescaleRealizer(events),
                state);
    }

    public static void main(String[] args) {
        Configuration conf = GlobalConfiguration.loadConfiguration(
                ParameterTool.fromArgs(args).getConfiguration());
        LOG.info("flinkscaler autoscaler driver started, configuration: {}", conf);
        FlinkscalerAutoscalerDriver d = new FlinkscalerAutoscalerDriver(conf);
        ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();
        loop.scheduleWithFixedDelay(d::controlLoop, 0, conf.get(CONTROL_LOOP_INTERVAL).toMillis(), TimeUnit.MILLISECONDS);
    }

    RestClusterClient<String> client(Configuration conf) throws Exception {
        return new RestClusterClient<>(conf, "clusterId", (c, e) -> new StandaloneClientHAServices(address));
    }

    private void controlLoop() {
        LOG.info("Control loop: scaling the jobs of {}", address);
        List<JobAutoScalerContext<JobID>> jobs = new ArrayList<>();
        try (RestClusterClient<String> rest = client(new Configuration())) {
            List<JobStatusMessage> list = rest.sendRequest(JobsOverviewHeaders.getInstance(),
                            EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())
                    .thenApply(JobStatusUtils::toJobStatusMessage)
                    .get(timeout.toSeconds(), TimeUnit.SECONDS);
            for (JobStatusMessage job : list) {
                jobs.add(context(rest, job));
            }
        } catch (Throwable e) {
            LOG.error("Error while fetching the job list.", e);
            return;
        }
        List<JobID> current = new ArrayList<>();
        for (JobAutoScalerContext<JobID> job : jobs) {
            current.add(job.getJobKey());
            try {
                autoscaler.scale(job);
            } catch (Throwable e) {
                LOG.error("Error while scaling job {}", job.getJobKey(), e);
                events.handleException(job, "AutoscalerError", e);
            }
        }
        for (JobID gone : lastJobs) {
            if (!current.contains(gone)) {
                autoscaler.cleanup(gone);
            }
        }
        lastJobs = current;
    }

    private JobAutoScalerContext<JobID> context(RestClusterClient<String> rest, JobStatusMessage job) throws Exception {
        JobMessageParameters params = new JobMessageParameters();
        params.jobPathParameter.resolve(job.getJobId());
        Configuration conf = new Configuration(base);
        rest.sendRequest(JobManagerJobConfigurationHeaders.getInstance(), params, EmptyRequestBody.getInstance())
                .get(timeout.toSeconds(), TimeUnit.SECONDS)
                .forEach(e -> conf.setString(e.getKey(), e.getValue()));
        return new JobAutoScalerContext<>(job.getJobId(), job.getJobId(), job.getJobState(), conf,
                new UnregisteredMetricsGroup(), () -> client(conf));
    }

    /** Applies parallelism overrides through the adaptive scheduler's rescale API. */
    static final class RescaleRealizer implements ScalingRealizer<JobID, JobAutoScalerContext<JobID>> {
        private final AutoScalerEventHandler<JobID, JobAutoScalerContext<JobID>> events;

        RescaleRealizer(AutoScalerEventHandler<JobID, JobAutoScalerContext<JobID>> events) {
            this.events = events;
        }

        @Override
        public void realizeParallelismOverrides(JobAutoScalerContext<JobID> ctx, Map<String, String> overrides) throws Exception {
            Configuration conf = ctx.getConfiguration();
            if (conf.get(JobManagerOptions.SCHEDULER) != JobManagerOptions.SchedulerType.Adaptive) {
                LOG.warn("In-place rescaling is only available with the adaptive scheduler.");
                return;
            }
            if (ctx.getJobStatus() != JobStatus.RUNNING) {
                LOG.warn("Job in terminal or reconciling state cannot be scaled in-place.");
                return;
            }
            Duration timeout = conf.get(AutoScalerOptions.FLINK_CLIENT_TIMEOUT);
            JobMessageParameters params = new JobMessageParameters();
            params.jobPathParameter.resolve(ctx.getJobID());
            try (RestClusterClient<String> rest = ctx.getRestClusterClient()) {
                Map<JobVertexID, JobVertexResourceRequirements> req = new HashMap<>(
                        rest.sendRequest(new JobResourceRequirementsHeaders(), params, EmptyRequestBody.getInstance())
                                .get(timeout.toSeconds(), TimeUnit.SECONDS)
                                .asJobResourceRequirements().get().getJobVertexParallelisms());
                boolean changed = false;
                for (Map.Entry<JobVertexID, JobVertexResourceRequirements> e : req.entrySet()) {
                    String p = overrides.get(e.getKey().toString());
                    if (p == null) {
                        continue;
                    }
                    JobVertexResourceRequirements.Parallelism want =
                            new JobVertexResourceRequirements.Parallelism(1, Integer.parseInt(p));
                    if (!e.getValue().getParallelism().equals(want)) {
                        e.setValue(new JobVertexResourceRequirements(want));
                        changed = true;
                    }
                }
                if (!changed) {
                    LOG.info("Vertex resources requirements already match target, nothing to do...");
                    return;
                }
                rest.sendRequest(new JobResourcesRequirementsUpdateHeaders(), params,
                                new JobResourceRequirementsBody(new JobResourceRequirements(req)))
                        .get(timeout.toSeconds(), TimeUnit.SECONDS);
                events.handleEvent(ctx, AutoScalerEventHandler.Type.Normal, "Scaling",
                        String.format("In-place scaling triggered, the new requirements is %s.", req), null, null);
            }
        }

        @Override
        public void realizeConfigOverrides(JobAutoScalerContext<JobID> ctx, ConfigChanges changes) {
            LOG.warn("{} does not support updating the TaskManager configuration ({})", getClass().getSimpleName(), changes);
        }
    }
}
