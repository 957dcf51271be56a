package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/clock"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// executor applies decisions to the emulated cluster with actuate's own
// Actuator (functions/actuate/actuator: plan, steps, bounded waits, rate
// limit, rollback, ledger) in virtual time. The Actuator talks to the
// emulator's REST API and TaskManager control endpoint over the in-process
// transport, keeps its ledger and desired TaskManager count in memory, and
// reads and waits on the executor's clock, which is the emulator's.
//
// An actuation runs on its own goroutine as a coroutine of the run's loop:
// exactly one of the two runs at a time. It runs until it sleeps (a wait's
// poll) or ends; each simulated step wakes it once its sleep is over. One
// decision runs at a time; a newer one waits, replacing any older waiting
// one (as the newest decision is what decide publishes last).
//
//	idle ──start──► running ──Sleep──► asleep ──step reaches wake time──► running
//	                   └──Actuate returns──► idle (result counted)
type executor struct {
	act *actuator.Actuator
	// ledger and desired are actuate's KV buckets (events.BucketActuations,
	// events.BucketDesiredTMs).
	ledger, desired *memKV
	reshape         func(*events.Decision)
	now             time.Time // the emulator's time after the last step
	pending         *events.Decision

	ctx     context.Context
	stop    context.CancelFunc
	running bool
	wakeAt  time.Time
	yield   chan struct{} // actuation → loop: asleep or ended
	resume  chan struct{} // loop → actuation
	ended   bool
	res     events.Result
	err     error
	// results are the results actuate published since the policy last
	// read them (Run feeds them to its state before its next decision,
	// as decide consumes actuate's result events: policy.Observe).
	results []events.Result

	// Applied, Skipped and Failed count decisions by outcome (partial
	// counts as failed); TimedOut counts the failures that were a wait
	// running out.
	Applied, Skipped, Failed, TimedOut int
	// Errors keeps the first few failure messages.
	Errors []string

	// hpa, when KEDA owns the TaskManagers, applies the declared count to
	// the emulator every HPASync (Options.KEDA).
	hpa *hpa
}

// hpa is KEDA's HPA over the emulator: at each sync it reads the count
// actuate declared and, outside the HPA's tolerance, sets the
// Deployment's replicas to it (its ReplicaSet picks the pods).
type hpa struct {
	rs   *replicaSet
	key  string
	next time.Time
}

// sync applies the declared count once HPASync has passed since the last
// sync; before a first declaration the count stays.
func (h *hpa) sync(now time.Time, desired *memKV) {
	if now.Before(h.next) {
		return
	}
	h.next = now.Add(HPASync)
	e, err := desired.Get(context.Background(), h.key)
	if err != nil {
		return
	}
	var d kedascaler.Desired
	if json.Unmarshal(e.Value(), &d) != nil || d.TaskManagers < 1 {
		return
	}
	cur := h.rs.c.TaskManagers()
	if cur > 0 && math.Abs(float64(d.TaskManagers)/float64(cur)-1) <= hpaTolerance {
		return
	}
	h.rs.scale(d.TaskManagers)
}

// hpaTolerance is the HPA's default tolerance; actuate's --hpa-tolerance
// matches it.
const hpaTolerance = 0.1

// newExecutor returns an executor for c, whose REST API client reaches
// through transport, starting at the emulator's time now; opt.Kubernetes,
// opt.KEDA, opt.Unmarked and opt.PlainScaleDown set who owns the
// TaskManagers, which go, and the scale-down order.
func newExecutor(c *flinksim.Cluster, fl *flink.Client, transport http.RoundTripper, now time.Time, opt Options) *executor {
	x := &executor{now: now, yield: make(chan struct{}), resume: make(chan struct{}),
		ledger: newMemKV(events.BucketActuations), desired: newMemKV(events.BucketDesiredTMs)}
	x.ctx, x.stop = context.WithCancel(context.Background())
	deps := actuator.Deps{
		Flink:      map[string]actuator.Flink{cluster: fl},
		Actuations: x.ledger, Desired: x.desired,
		Log: slog.New(slog.DiscardHandler), Clock: x,
	}
	scaling := c.Scenario().Cluster.Scaling
	if scaling != flinksim.ScalingSession { // a session cluster's TaskManagers are not the job's
		deps.TaskManagers = taskmanagers.NewEmulator(map[string]string{cluster: emulatorURL}, &http.Client{Transport: transport})
	}
	if scaling != flinksim.ScalingReactive {
		// keda-lag sizes one parallelism for all vertices, as on a
		// reactive-mode cluster; on an adaptive one that takes declaring
		// it as every vertex's requirement.
		x.reshape = func(d *events.Decision) {
			if d.Mode == events.ModeReactive {
				d.Mode = events.ModeAdaptive
			}
		}
	}
	aopt := actuator.DefaultOptions()
	aopt.FoldScaleDown = !opt.PlainScaleDown
	if (opt.KEDA || opt.Kubernetes) && scaling != flinksim.ScalingSession {
		rs := newReplicaSet(c)
		aopt.DefaultWorkload = workload
		if !opt.Unmarked {
			deps.Pods = rs
		}
		deps.TaskManagers = rs
		if opt.KEDA {
			deps.TaskManagers, aopt.KEDAOwnsTaskManagers, aopt.HPATolerance = nil, true, hpaTolerance
			x.hpa = &hpa{rs: rs, key: events.KVKey(cluster, c.JobID())}
		}
	}
	x.act = actuator.New(deps, aopt)
	return x
}

var _ clock.Clock = (*executor)(nil)

// Now is the emulator's time (clock.Clock).
func (x *executor) Now() time.Time { return x.now }

// Sleep hands control back to the run's loop until the emulator's time
// has passed d (clock.Clock). Called on the actuation's goroutine.
func (x *executor) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	x.wakeAt = x.now.Add(d)
	x.yield <- struct{}{}
	<-x.resume
	return ctx.Err()
}

// submit queues d; it starts on the next step when nothing runs.
func (x *executor) submit(d events.Decision) { x.pending = &d }

// tick runs after each simulated step, at the emulator's time now: the
// running actuation wakes when its sleep is over, and a waiting decision
// starts when none runs.
func (x *executor) tick(now time.Time) {
	x.now = now
	if x.hpa != nil {
		x.hpa.sync(now, x.desired)
	}
	if x.running && !now.Before(x.wakeAt) {
		x.resume <- struct{}{}
		x.await()
	}
	if !x.running && x.pending != nil {
		d := *x.pending
		x.pending = nil
		if x.reshape != nil {
			x.reshape(&d)
		}
		x.start(d)
	}
}

// start runs Actuate for d on its own goroutine until it first sleeps or
// ends.
func (x *executor) start(d events.Decision) {
	x.running, x.ended = true, false
	go func() {
		x.res, x.err = x.act.Actuate(x.ctx, d)
		x.ended = true
		x.yield <- struct{}{}
	}()
	x.await()
}

// await waits until the actuation sleeps or ends, and counts its result
// when it ended.
func (x *executor) await() {
	<-x.yield
	if !x.ended {
		return
	}
	x.running = false
	if x.err == nil {
		x.results = append(x.results, x.res)
	}
	switch {
	case x.err != nil: // actuate would retry it (a transient failure that changed nothing)
		x.Failed++
		x.note(fmt.Sprintf("transient: %v", x.err))
	case x.res.Outcome == events.OutcomeApplied:
		x.Applied++
	case x.res.Outcome == events.OutcomeSkipped:
		x.Skipped++
	default:
		x.Failed++
		if actuator.TimedOut(x.res) {
			x.TimedOut++
		}
		x.note(x.res.Error)
	}
}

// close ends a running actuation (it stops as actuate does on shutdown,
// rolling back what it would roll back) without counting it.
func (x *executor) close() {
	x.stop()
	if x.running {
		x.resume <- struct{}{}
		<-x.yield
		x.running = false
	}
}

func (x *executor) note(msg string) {
	if len(x.Errors) < 5 {
		x.Errors = append(x.Errors, msg)
	}
}
