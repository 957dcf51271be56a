package actuator

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
)

// unboundedAttempts is the restart-attempt count from which a restart
// strategy counts as unbounded: Flink's own unbounded default is
// Integer.MAX_VALUE, and a job that scales down many times a day would
// take years to use up a million.
const unboundedAttempts = 1_000_000

// clusterDefaultRestarts is how /jobs/:jobid/config describes a job that
// sets no restart strategy of its own (Flink 1.x); "default" is the older
// spelling of the same.
var clusterDefaultRestarts = []string{"", "default", "Cluster level default restart strategy"}

// foldable reports whether a scale-down of the job may fold its
// TaskManager removal into the rescale's restart (plan.Options
// FoldScaleDown), and if not, why. The removal then fails the job over
// when Flink left subtasks on the removed TaskManagers, and Flink's restart
// strategy counts that failure: folding is safe only when the strategy
// restarts without a bound. The job must checkpoint (interval > 0: without
// checkpointing Flink's default strategy does not restart at all), and the
// JobManager's configuration (GET /jobs/:jobid/jobmanager/config, explicit
// keys only; absent keys are Flink's defaults) must name no strategy with a
// bound: none, failure-rate, or fixed-delay / exponential-delay with fewer
// than unboundedAttempts attempts. A job that sets its own strategy in its
// code (/jobs/:jobid/config) is not folded either: its bound is not
// readable. A configuration that cannot be read is not folded: the plain
// order (rescale, then remove) can cost a second restart, never the job.
func foldable(ctx context.Context, fl Flink, jobID string, interval time.Duration) (bool, string) {
	if interval <= 0 {
		return false, "the job does not checkpoint, and without checkpointing Flink's default restart strategy does not restart a failed job"
	}
	cfg, err := fl.JobManagerConfig(ctx, jobID)
	if err != nil {
		return false, fmt.Sprintf("the JobManager's configuration could not be read (%v)", err)
	}
	if why := boundedRestarts(cfg); why != "" {
		return false, why
	}
	if jc, err := fl.JobConfig(ctx, jobID); err == nil {
		own := strings.TrimSpace(jc.ExecutionConfig.RestartStrategy)
		isDefault := false
		for _, d := range clusterDefaultRestarts {
			isDefault = isDefault || strings.EqualFold(own, d)
		}
		if !isDefault {
			return false, fmt.Sprintf("the job sets its own restart strategy (%q), whose bound actuate cannot read", own)
		}
	}
	return true, ""
}

// boundedRestarts says why the restart strategy of cfg (explicit keys of
// the JobManager's configuration) bounds restarts, or "" when it does not.
func boundedRestarts(cfg map[string]string) string {
	kind := cfg["restart-strategy.type"]
	if kind == "" {
		kind = cfg["restart-strategy"] // the key before Flink 1.19
	}
	kind = strings.ToLower(strings.TrimSpace(kind))
	attempts := func(key string, unset int) string {
		n := unset
		if v, ok := cfg[key]; ok {
			parsed, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Sprintf("%s is %q, not a number", key, v)
			}
			n = parsed
		}
		if n < unboundedAttempts {
			return fmt.Sprintf("restart strategy %s allows %d restart attempts (%s): each folded scale-down would use one", kind, n, key)
		}
		return ""
	}
	switch kind {
	case "":
		return "" // Flink's default with checkpointing: unbounded (fixed-delay to 1.18, exponential-delay from 1.19)
	case "fixed-delay", "fixeddelay":
		return attempts("restart-strategy.fixed-delay.attempts", 1)
	case "exponential-delay", "exponentialdelay":
		return attempts("restart-strategy.exponential-delay.attempts-before-reset-backoff", 1<<31-1)
	case "none", "off", "disable":
		return fmt.Sprintf("restart strategy %s: a failover would fail the job", kind)
	case "failure-rate", "failurerate":
		return "restart strategy failure-rate bounds failures per interval: a folded scale-down's failover could use up the last one"
	}
	return fmt.Sprintf("restart strategy %q is not one actuate knows", kind)
}

// waitReleased waits until the JobManager lists at most n TaskManagers:
// the removed ones are gone, and with them their slots, so the
// requirements declared next are placed on the TaskManagers that stay.
// Kubernetes stops a pod within seconds of its removal, and its
// TaskManager deregisters as it shuts down. It never fails the plan: when
// ReleaseWait passes, or Flink cannot be read, the requirements are
// declared anyway (a TaskManager that stops later costs one more
// failover, as the plain order does) and the detail says so.
func (x *execution) waitReleased(ctx context.Context, n int) (string, error) {
	state, err := x.poll(ctx, x.a.opt.ReleaseWait, func() (bool, string, error) {
		ov, err := x.fl.Overview(ctx)
		if err != nil {
			return false, "", classifyFlink("read cluster overview", err)
		}
		return ov.TaskManagers <= n, fmt.Sprintf("%d TaskManagers registered, %d kept", ov.TaskManagers, n), nil
	})
	if err != nil {
		return fmt.Sprintf("declaring anyway: %v", err), nil
	}
	return state + ": the removed TaskManagers are gone; the requirements go to the job while it restarts on the rest", nil
}

// foldNote is the scale step's note on a scale-down that was not folded.
func foldNote(p plan.Plan, why string) string {
	if why == "" || p.Direction != plan.DirectionDown {
		return ""
	}
	return "; removed after the rescale, not with it: " + why
}
