package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// hpaRule is the Kubernetes HPA arithmetic (reference §5, keda-external-scaler
// §6): desired = ⌈current × ratio⌉, nothing within Tolerance of ratio 1,
// scale-up at most max(×2, +4) per decision (the HPA's default scale-up
// policies), and scale-down to the highest recommendation in the
// stabilization window.
type hpaRule struct {
	Tolerance     float64
	Stabilization time.Duration
}

func (h hpaRule) desired(cur int, ratio float64) int {
	if math.IsNaN(ratio) || math.Abs(ratio-1) <= h.Tolerance {
		return cur
	}
	want := int(math.Ceil(float64(cur) * math.Min(ratio, 1e6)))
	return max(min(want, max(2*cur, cur+4)), 1)
}

// hpaGates are sharedGates, then a sample of the current run.
var hpaGates = append(sharedGates[:len(sharedGates):len(sharedGates)], warmUp(0))

// Threshold is an HPA-style utilization scaler on busy time: per vertex,
// ratio = average busy ÷ Target, applied as the HPA would.
type Threshold struct {
	Target float64
	hpaRule
}

// NewThreshold returns the HPA defaults: target 70 %, 10 % tolerance,
// 5-minute scale-down stabilization.
func NewThreshold() Threshold {
	return Threshold{Target: 0.7, hpaRule: hpaRule{Tolerance: 0.1, Stabilization: 5 * time.Minute}}
}

// Name implements Policy.
func (Threshold) Name() string { return "threshold" }

// Decide implements Policy.
func (t Threshold) Decide(in Input) Output {
	cfg := in.Config
	cfg.ScaleDownWindow, cfg.ScaleUpDelay = t.Stabilization, 0
	return decideWith(in, t.Name(), cfg, false, hpaGates,
		[]step{stepEstimate, t.size, stepClamp, stepReactive, stepTMCap, stepStabilize, stepEmitPlain})
}

func (t Threshold) size(r *run) *hold {
	for i := range r.vs {
		vp := &r.vs[i]
		vp.lo, vp.hi = r.bounds(vp)
		ratio := vp.est.busyAvg / t.Target
		vp.p = t.desired(vp.cur, ratio)
		vp.reason = fmt.Sprintf("%s: busy %.0f%% vs target %.0f%% → %d", vp.name, 100*vp.est.busyAvg, 100*t.Target, vp.p)
	}
	return nil
}

// KEDALag scales TaskManagers on the sources' total lag as KEDA's lag
// scalers do: an HPA AverageValue target, desired = ⌈lag ÷ LagThreshold⌉
// TaskManagers, within [1, MaxReplicas]; every vertex runs on all slots
// (Flink reactive mode), since KEDA sets one number.
type KEDALag struct {
	// LagThreshold is the lag (records) per TaskManager; KEDA's default
	// for its lag scalers is 10. Sweep it: it is the policy's main knob.
	LagThreshold float64
	// MaxReplicas is KEDA's maxReplicaCount (default 100); the job's
	// MaxTaskManagers, when set, is used instead.
	MaxReplicas int
	hpaRule
}

// NewKEDALag returns KEDA's defaults.
func NewKEDALag() KEDALag {
	return KEDALag{LagThreshold: 10, MaxReplicas: 100, hpaRule: hpaRule{Tolerance: 0.1, Stabilization: 5 * time.Minute}}
}

// Name implements Policy.
func (KEDALag) Name() string { return "keda-lag" }

// Decide implements Policy.
func (k KEDALag) Decide(in Input) Output {
	cfg := in.Config
	cfg.ScaleDownWindow, cfg.ScaleUpDelay, cfg.Mode = k.Stabilization, 0, events.ModeReactive
	return decideWith(in, k.Name(), cfg, false, hpaGates, []step{stepEstimate, k.size, stepStabilize, stepEmitPlain})
}

func (k KEDALag) size(r *run) *hold {
	lag, known := 0.0, false
	for _, vp := range r.vs {
		if vp.source && vp.est.pending >= 0 {
			lag += vp.est.pending
			known = true
		}
	}
	if !known {
		return holdf(HoldIncomplete, "keda-lag: no source reports pending records")
	}
	per := slotsPerTaskManager(r.cfg, r.snap)
	tms := max((r.vs[0].cur+per-1)/per, 1)
	maxTMs := k.MaxReplicas
	if r.cfg.MaxTaskManagers > 0 {
		maxTMs = r.cfg.MaxTaskManagers - r.cfg.Slots.Standby
	}
	want := min(max(k.desired(tms, lag/k.LagThreshold/float64(tms)), 1), max(maxTMs, 1))
	for i := range r.vs {
		vp := &r.vs[i]
		vp.p = min(want*per, vp.maxPar)
		vp.reason = fmt.Sprintf("%s: lag %s ÷ %s per TaskManager → %d TaskManagers", vp.name, si(lag), si(k.LagThreshold), want)
	}
	return nil
}
