package actuator

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// EventRecorder records a Kubernetes Event on a TaskManager workload.
type EventRecorder interface {
	Record(ctx context.Context, workload, eventType, reason, message string) error
}

var _ EventRecorder = (*taskmanagers.Events)(nil)

const (
	eventNormal  = taskmanagers.EventNormal
	eventWarning = taskmanagers.EventWarning
	// eventTimeout bounds the recording of one Event.
	eventTimeout = 5 * time.Second
)

// Event reasons, one per outcome of a decision.
var resultReasons = map[string]struct{ reason, kind string }{
	events.OutcomeApplied: {"Rescaled", eventNormal},
	events.OutcomeSkipped: {"RescaleSkipped", eventNormal},
	events.OutcomeFailed:  {"RescaleFailed", eventWarning},
	events.OutcomePartial: {"RescalePartial", eventWarning},
}

// recordResult records the result of d as an Event on its workload.
func (a *Actuator) recordResult(ctx context.Context, d events.Decision, r events.Result) {
	rr, ok := resultReasons[r.Outcome]
	if !ok || r.DryRun {
		return
	}
	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, s.Name+":"+s.Status)
	}
	msg := fmt.Sprintf("decision %s of job %s (%s/%s): %s [%s]", d.DecisionID, d.JobName, d.Cluster, d.JobID, r.Outcome, strings.Join(steps, " → "))
	if reason := r.Reason(); reason != "" {
		msg += ": " + reason
	}
	a.recordEvent(ctx, a.workloadOf(d), rr.kind, rr.reason, msg)
}

// recordEvent records one Event when a recorder and a workload are known;
// a failure is logged and dropped.
func (a *Actuator) recordEvent(ctx context.Context, workload, eventType, reason, message string) {
	if a.deps.Events == nil || workload == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventTimeout)
	defer cancel()
	if err := a.deps.Events.Record(ctx, workload, eventType, reason, message); err != nil {
		a.log.Warn("cannot record a Kubernetes Event", "workload", workload, "event_reason", reason, "reason", err.Error())
	}
}

func (a *Actuator) workloadOf(d events.Decision) string {
	if d.Workload != "" {
		return d.Workload
	}
	return a.opt.DefaultWorkload
}

// decisionMessage says what a decision asks and how it will be applied.
func decisionMessage(d events.Decision, p plan.Plan) string {
	var changes []string
	if p.TaskManagers.Current != p.TaskManagers.Target {
		changes = append(changes, fmt.Sprintf("TaskManagers %d→%d", p.TaskManagers.Current, p.TaskManagers.Target))
	}
	for _, v := range d.Vertices {
		if v.Current != v.Target {
			changes = append(changes, fmt.Sprintf("%s %d→%d", v.Name, v.Current, v.Target))
		}
	}
	var steps []string
	for _, s := range p.Steps {
		steps = append(steps, string(s.Kind))
	}
	return fmt.Sprintf("decision %s of job %s (%s/%s, policy %s): %s; steps %s; %s", d.DecisionID, d.JobName, d.Cluster, d.JobID,
		d.Policy, strings.Join(changes, ", "), strings.Join(steps, " → "), d.Rationale)
}
