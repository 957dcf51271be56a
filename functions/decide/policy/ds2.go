package policy

import (
	"fmt"
	"math"
	"time"
)

// DS2 is the DS2 policy (Kalavri et al., OSDI 2018; reference §3): every
// vertex sized in one topological pass, π = ⌈target input rate ÷ (true rate
// per instance)⌉ × (1 + ScalingFactor), with true rate = records in ÷ useful
// (busy) time and target rates propagated from the sources' offered rate by
// observed selectivity. Linear scaling is assumed, there is no utilization
// headroom, band or backlog catch-up, and it acts on every change after its
// warm-up. Activation time is the repository default of one interval.
type DS2 struct {
	// WarmUp is ignored time after a (re)start: 30 s on Flink in the paper.
	WarmUp time.Duration
	// ScalingFactor over-provisions by (1 + f); 0 in the paper.
	ScalingFactor float64
}

// NewDS2 returns DS2 with the paper's Flink settings.
func NewDS2() DS2 { return DS2{WarmUp: 30 * time.Second} }

// Name implements Policy.
func (DS2) Name() string { return "ds2" }

// Decide implements Policy.
func (d DS2) Decide(in Input) Output {
	gates := append(sharedGates[:len(sharedGates):len(sharedGates)], warmUp(d.WarmUp))
	return decideWith(in, d.Name(), in.Config, false, gates,
		[]step{stepEstimate, stepPropagate, d.size, stepClamp, stepReactive, stepTMCap, stepEmitPlain})
}

func (d DS2) size(r *run) *hold {
	for i := range r.vs {
		vp := &r.vs[i]
		vp.lo, vp.hi = r.bounds(vp)
		if vp.est.idle || vp.est.busyAvg <= 0 {
			vp.reason = fmt.Sprintf("%s: no input; kept at %d", vp.name, vp.cur)
			continue
		}
		perInstance := vp.est.in / vp.est.busyAvg / float64(vp.cur)
		optimal := vp.steady / perInstance
		vp.p = max(int(math.Ceil(optimal*(1+d.ScalingFactor)*(1-1e-9))), 1)
		vp.reason = fmt.Sprintf("%s: true rate %s per instance; target input %s rec/s → %d instances",
			vp.name, si(perInstance), si(vp.steady), vp.p)
	}
	return nil
}

// warmUp holds until the current run is d old and has a sample.
func warmUp(d time.Duration) gate {
	return func(g gateInput, st State) (State, *hold) {
		if age := g.now.Sub(st.Epoch); age < d || len(st.Window) == 0 {
			return st, holdf(HoldSettling, fmt.Sprintf("warming up: job running for %s of %s", age.Round(time.Second), d))
		}
		return st, nil
	}
}

// stepEmitPlain makes a decision when any target changed, with the changes
// as rationale.
func stepEmitPlain(r *run) *hold {
	if !r.any(func(vp *vplan) bool { return vp.p != vp.cur }) {
		return holdf(HoldNoChange, "no vertex changes")
	}
	r.emit(r.policy + ": " + r.changes())
	return nil
}

// Oracle rescales to Input.Truth, the optimal parallelism per vertex id from
// an emulator's ground truth, whenever it differs; the benchmark accounts its
// rescales as free. It holds without Truth.
type Oracle struct{}

// Name implements Policy.
func (Oracle) Name() string { return "oracle" }

// Decide implements Policy.
func (o Oracle) Decide(in Input) Output {
	return decideWith(in, o.Name(), in.Config, false, oracleGates, []step{oracleTargets, stepEmitPlain})
}

// oracleGates are sharedGates without the in-flight wait and the
// cooldown: the oracle rescales whenever the truth differs.
var oracleGates = []gate{gateOrder, gateValidate, gateTopology, gateEpoch, gateRecord, gatePaused}

func oracleTargets(r *run) *hold {
	if len(r.in.Truth) == 0 {
		return holdf(HoldIncomplete, "oracle: no ground truth in the input")
	}
	r.vs = make([]vplan, len(r.snap.Vertices))
	for i, v := range r.snap.Vertices {
		vp := vplan{id: v.ID, name: orDash(v.Name), cur: v.Parallelism, p: v.Parallelism}
		if t, ok := r.in.Truth[v.ID]; ok && t > 0 && t <= maxParallelism {
			vp.p = t
		}
		vp.reason = fmt.Sprintf("%s: optimal parallelism %d", vp.name, vp.p)
		r.vs[i] = vp
	}
	return nil
}
