package actuator

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/discovery"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

// TaskManager owners (--taskmanagers): who sets a job's TaskManager count.
// Exactly one owns it.
const (
	// BackendKubernetes: actuate scales the TaskManager workload.
	BackendKubernetes = "kubernetes"
	// BackendEmulator: actuate sets the Flink emulator's TaskManagers.
	BackendEmulator = "emulator"
	// BackendKEDA: KEDA scales the TaskManager workload to the count
	// actuate declares through its external scaler (--keda-listen).
	BackendKEDA = "keda"
	// BackendFlink: Flink's own ResourceManager starts and stops
	// TaskManager pods for the declared requirements (native Kubernetes
	// mode, also under the Flink Kubernetes operator); actuate only
	// declares requirements.
	BackendFlink = "flink"
	// BackendNone: nobody here changes the TaskManagers (a fixed
	// cluster); actuate only declares requirements within its slots.
	BackendNone = "none"
)

// owners lists the --taskmanagers values for messages.
const owners = "kubernetes, keda, flink, emulator or none"

// Config is the actuate function's configuration.
type Config struct {
	// Common is NATS, the stream settings, the HTTP address and logging.
	function.Common
	// FlinkTLS and FlinkAuth apply to every --flink JobManager.
	FlinkCAFile, FlinkTokenFile string
	// Flink maps a cluster name to its JobManager REST URL.
	Flink        map[string]string
	TaskManagers string // kubernetes | keda | flink | emulator | none
	Kubeconfig   string // empty: in-cluster (the flag defaults to $KUBECONFIG)
	Workload     string // default [KIND/]NAMESPACE/NAME
	KEDAListen   string // empty: no KEDA scaler
	// KEDAPoll is how often the KEDA scaler reads each cluster's jobs and
	// TaskManagers (its answers before a decision, and IsActive).
	KEDAPoll time.Duration
	// Discovery finds clusters in Kubernetes beside --flink, refreshed
	// every DiscoverEvery.
	Discovery     discovery.Config
	DiscoverEvery time.Duration
	KEDATLS       kedascaler.TLSFiles
	// Concurrency is the number of decisions handled at once (consumers
	// sharing the durable).
	Concurrency int
	Options     Options
}

// DefaultConfig returns the defaults: local NATS, no TaskManager backend,
// HTTP on function.HTTPActuate, 4 concurrent decisions, DefaultOptions.
func DefaultConfig() Config {
	return Config{
		Common: function.Defaults(Function, function.HTTPActuate),
		Flink:  map[string]string{}, TaskManagers: BackendNone, Concurrency: 4, Options: DefaultOptions(),
		KEDAPoll: 10 * time.Second, DiscoverEvery: 30 * time.Second,
	}
}

// RegisterFlags binds c's fields to flags on fs; the current values are the
// defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.Flink == nil {
		c.Flink = map[string]string{}
	}
	c.Common.Bind(fs)
	fs.Var(function.Clusters(c.Flink), "flink", "JobManager REST URL of a cluster as `CLUSTER=URL`, e.g. demo=http://127.0.0.1:8081 (repeatable)")
	fs.StringVar(&c.FlinkCAFile, "flink-ca-file", c.FlinkCAFile, "CA certificate file for an https --flink")
	fs.StringVar(&c.FlinkTokenFile, "flink-token-file", c.FlinkTokenFile, "file holding a bearer token for every --flink")
	fs.BoolVar(&c.Discovery.Services, "discover-services", c.Discovery.Services, "also act on the clusters of JobManager Services labelled "+discovery.ClusterLabel+"=CLUSTER (needs list on services)")
	fs.BoolVar(&c.Discovery.FlinkDeployments, "discover-flinkdeployments", c.Discovery.FlinkDeployments, "also act on the Flink operator's FlinkDeployments, as cluster NAMESPACE-NAME (needs list on flinkdeployments)")
	fs.Func("discover-namespaces", "comma-separated `NAMESPACES` to discover in; empty: all", func(v string) error {
		c.Discovery.Namespaces = strings.Split(v, ",")
		return nil
	})
	fs.DurationVar(&c.DiscoverEvery, "discover-every", c.DiscoverEvery, "how often discovery looks again")
	fs.StringVar(&c.TaskManagers, "taskmanagers", c.TaskManagers, "who owns the TaskManager count: kubernetes (actuate scales --taskmanager-workload), keda (KEDA scales it to the count served on --keda-listen), flink (Flink's native Kubernetes ResourceManager starts them), emulator, or none (fixed)")
	fs.Float64Var(&c.Options.HPATolerance, "hpa-tolerance", c.Options.HPATolerance, "with --taskmanagers keda: the tolerance of the HPA KEDA drives; a declared count inside it is moved out of it (0 when the ScaledObject's behavior sets tolerance 0, Kubernetes 1.33+)")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "kubeconfig `FILE`, by default the first of $KUBECONFIG; empty: the in-cluster config")
	fs.StringVar(&c.Workload, "taskmanager-workload", c.Workload, "default TaskManager workload [KIND/]NAMESPACE/NAME: the one actuate scales (kubernetes), or, with keda, the one KEDA scales; actuate records Kubernetes Events on it and, when it is a Deployment, marks its pods' deletion cost before a scale-down so its ReplicaSet removes idle TaskManagers first (RBAC: list and patch on pods, deploy/rbac)")
	fs.StringVar(&c.KEDAListen, "keda-listen", c.KEDAListen, "serve the KEDA external scaler (gRPC) on ADDR")
	fs.DurationVar(&c.KEDAPoll, "keda-poll", c.KEDAPoll, "how often the KEDA scaler reads each cluster's jobs and TaskManagers (its answer before a job's first decision, and IsActive)")
	fs.StringVar(&c.KEDATLS.Cert, "keda-tls-cert", c.KEDATLS.Cert, "KEDA scaler TLS certificate (PEM)")
	fs.StringVar(&c.KEDATLS.Key, "keda-tls-key", c.KEDATLS.Key, "KEDA scaler TLS key (PEM)")
	fs.StringVar(&c.KEDATLS.ClientCA, "keda-client-ca", c.KEDATLS.ClientCA, "CA (PEM) that client certificates must chain to (mutual TLS)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "decisions handled at once")
	fs.BoolVar(&c.Options.DryRun, "dry-run", c.Options.DryRun, "change nothing in Flink or Kubernetes: every decision is planned and its result published as a dry run")
	fs.DurationVar(&c.Options.SlotWait, "slot-wait", c.Options.SlotWait, "bound of the wait for new TaskManagers' slots; it goes on while TaskManagers keep registering (until half of it passes with none) and starts from the slowest wait the job's TaskManagers took before plus a quarter (a wait that ran out counts as taken: its length, or twice this when no TaskManager registered in it), at most twice this either way (not in reactive mode)")
	fs.BoolVar(&c.Options.ReplaceUnregistered, "replace-unregistered", c.Options.ReplaceUnregistered, "when the slot wait runs out with some of a scale-up's new TaskManagers registered and others not, replace those that did not, once per decision (with --taskmanagers kubernetes and a Deployment: delete the pods that run no registered TaskManager, for the ReplicaSet to start new ones, RBAC delete on pods; with the emulator: lower its count and raise it back; not with keda), and wait --slot-wait once more before keeping the registered ones; also, once per decision, replace the TaskManagers of a job that is down with no slot registered when a decision changes no TaskManager count (decide asks so, at most 3 times a wait), then wait --slot-wait for their slots; false: keep them at once, replace nothing")
	fs.DurationVar(&c.Options.ParallelismWait, "parallelism-wait", c.Options.ParallelismWait, "bound of the wait for the job at its new parallelism, counted from the latest restart the job began during it, plus, on Flink 2 (which rescales on a completed checkpoint), two checkpoint intervals and a tenth (at most 15 min) until the job restarts, as the next checkpoint may fail; decide allows the same (at most twice the bound and that in all)")
	fs.DurationVar(&c.Options.Poll, "poll", c.Options.Poll, "poll interval of the waits")
	fs.DurationVar(&c.Options.MinInterval, "min-interval", c.Options.MinInterval, "per-job minimum time between actuations; decisions inside it are skipped (a safety net: keep it below decide's policy minInterval, 1m by default; decide's declaration of the bounds a job runs at and its release of idle TaskManagers restart nothing and do not start it)")
	fs.BoolVar(&c.Options.AlignCheckpoint, "align-checkpoint", c.Options.AlignCheckpoint, "restart the job for a rescale just after a checkpoint completes (less replay)")
	fs.BoolVar(&c.Options.TriggerCheckpoint, "trigger-checkpoint", c.Options.TriggerCheckpoint, "on Flink 2, which rescales a running job only on a completed checkpoint, ask for a checkpoint (POST /jobs/<id>/checkpoints) right after the new requirements (or a reactive scale-up's slots), once the job has run 30 s (the scheduler's default cooldown), so it rescales within that checkpoint's duration rather than on the next periodic one, up to an interval later; false: wait for the periodic one")
	fs.DurationVar(&c.Options.CheckpointWait, "checkpoint-wait", c.Options.CheckpointWait, "bound of the wait for a checkpoint before a restart; a checkpoint due later is not waited for, one in progress when the bound passes gets the bound once more")
	fs.BoolVar(&c.Options.FoldScaleDown, "fold-scale-down", c.Options.FoldScaleDown, "remove a scale-down's TaskManagers (or, with --taskmanagers keda, serve KEDA the lower count) before declaring its requirements, so the removal and the rescale share one restart (Flink leaves a scaled-down job spread over its TaskManagers unless it packs: application mode, 1.20.2+/2.0.1+); only when the job's restart strategy is unbounded; false: rescale first, then remove (a second restart when a removed TaskManager still ran tasks)")
	fs.DurationVar(&c.Options.ReleaseWait, "release-wait", c.Options.ReleaseWait, "with --fold-scale-down: bound of the wait for the removed TaskManagers to leave the JobManager before the requirements are declared (with keda it covers the HPA's sync, 15 s by default, and the pods' stop)")
	fs.DurationVar(&c.Options.MaxAge, "decision-max-age", c.Options.MaxAge, "skip a decision stored longer ago than this (queued while actuate was down); decide decides again from current metrics; 0: any age")
	fs.IntVar(&c.Options.ConflictRetries, "conflict-retries", c.Options.ConflictRetries, "retries of a requirements update Flink answers 409")
}

// Validate reports every problem, each with its flag name. It changes
// nothing.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", field, fmt.Sprintf(format, args...)))
	}
	errs = append(errs, c.Common.Problems()...)
	if len(c.Flink) == 0 && !c.Discovery.Enabled() {
		bad("flink", "at least one CLUSTER=URL is required, or discovery (--discover-services, --discover-flinkdeployments)")
	}
	if c.Discovery.Enabled() && c.DiscoverEvery <= 0 {
		bad("discover-every", "%s: want a positive duration", c.DiscoverEvery)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Flink)) {
		if err := events.ValidateCluster(name); err != nil {
			bad("flink", "%v", err)
		}
		if u, err := url.Parse(c.Flink[name]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("flink", "cluster %s: URL %q is not http(s)://host[:port]", name, c.Flink[name])
		}
	}
	switch c.TaskManagers {
	case BackendKubernetes, BackendEmulator, BackendKEDA, BackendFlink, BackendNone:
	default:
		bad("taskmanagers", "%q is not %s", c.TaskManagers, owners)
	}
	errs = append(errs, c.validateOwner()...)
	if c.Workload != "" {
		if _, err := taskmanagers.ParseWorkload(c.Workload); err != nil {
			bad("taskmanager-workload", "%v", err)
		}
	}
	if c.KEDAListen != "" && c.KEDAPoll <= 0 {
		bad("keda-poll", "%s: want a positive duration", c.KEDAPoll)
	}
	if c.KEDAListen == "" && c.KEDATLS.Enabled() {
		bad("keda-tls-cert", "TLS options need --keda-listen")
	}
	if (c.KEDATLS.Cert == "") != (c.KEDATLS.Key == "") {
		bad("keda-tls-key", "--keda-tls-cert and --keda-tls-key go together")
	}
	if c.KEDATLS.ClientCA != "" && c.KEDATLS.Cert == "" {
		bad("keda-client-ca", "mutual TLS needs --keda-tls-cert and --keda-tls-key")
	}
	if c.Concurrency < 1 {
		bad("concurrency", "%d: want at least 1", c.Concurrency)
	}
	errs = append(errs, c.Options.validate()...)
	return errors.Join(errs...)
}

// validateOwner refuses set-ups where two parties own the TaskManager count,
// or where KEDA is asked to scale on a count nobody declares.
func (c Config) validateOwner() []error {
	var errs []error
	switch {
	case c.TaskManagers == BackendKEDA && c.KEDAListen == "":
		errs = append(errs, errors.New("--taskmanagers keda: KEDA reads the desired count from actuate's external scaler; add --keda-listen ADDR"))
	case c.KEDAListen != "" && c.TaskManagers == BackendKubernetes:
		errs = append(errs, errors.New("--keda-listen: with --taskmanagers kubernetes both actuate and KEDA would own TaskManager replicas; "+
			"let KEDA own them (--taskmanagers keda) or drop --keda-listen"))
	case c.KEDAListen != "" && (c.TaskManagers == BackendNone || c.TaskManagers == BackendFlink):
		errs = append(errs, fmt.Errorf("--keda-listen: with --taskmanagers %s KEDA would be served the current TaskManager count "+
			"and never scale; let KEDA own the TaskManagers (--taskmanagers keda) or drop --keda-listen", c.TaskManagers))
	}
	if c.Workload != "" && c.TaskManagers == BackendFlink {
		errs = append(errs, fmt.Errorf("--taskmanager-workload: with --taskmanagers %s Flink starts TaskManager pods, there is no workload; drop it", c.TaskManagers))
	}
	if t := c.Options.HPATolerance; t < 0 || t >= 1 || t != t {
		errs = append(errs, fmt.Errorf("--hpa-tolerance: %v: want a fraction in [0, 1) (the HPA's default is 0.1)", t))
	}
	return errs
}

func (o Options) validate() []error {
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"slot-wait", o.SlotWait}, {"parallelism-wait", o.ParallelismWait}, {"poll", o.Poll}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s: %s: want a positive duration", d.flag, d.v))
		}
	}
	if o.MinInterval < 0 {
		errs = append(errs, fmt.Errorf("--min-interval: %s: want 0 or more", o.MinInterval))
	}
	if o.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("--decision-max-age: %s: want 0 or more", o.MaxAge))
	}
	if o.FoldScaleDown && o.ReleaseWait <= 0 {
		errs = append(errs, fmt.Errorf("--release-wait: %s: want a positive duration with --fold-scale-down", o.ReleaseWait))
	}
	if o.CheckpointWait < 0 {
		errs = append(errs, fmt.Errorf("--checkpoint-wait: %s: want 0 or more", o.CheckpointWait))
	}
	if o.ConflictRetries < 0 {
		errs = append(errs, fmt.Errorf("--conflict-retries: %d: want 0 or more", o.ConflictRetries))
	}
	return errs
}
