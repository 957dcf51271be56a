package scorecard

import (
	"math"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Convergence parameters (docs/BENCHMARK.md "Metrics").
const (
	// SmoothWindow is the centred window over which the offered rate is
	// averaged to find the load level, so noise is not a load change.
	SmoothWindow = 60 * time.Second
	// LoadChangeFraction is how far, relative to the level at the last load
	// change, the smoothed oracle slot count must move to be a new change
	// (at least the step the job pays in, Recorder.costStep).
	LoadChangeFraction = 0.10
	// Headroom is how far above the level's oracle cost a configuration may
	// be and still count as converged (at least the step the job pays in,
	// Recorder.costStep).
	Headroom = 0.5
	// Hold is how long a configuration must stay converged to count.
	Hold = 60 * time.Second
)

// Summary is the scorecard of a run. JSON names are those of `flinkscaler
// bench --json`.
type Summary struct {
	DurationSeconds float64 `json:"durationSeconds"`
	// Rescales counts job restarts (a rescale, or a failover after a lost
	// TaskManager); Decisions counts recorded decisions.
	Rescales  int `json:"rescales"`
	Decisions int `json:"decisions"`
	// ParallelismChanges counts the rescales that changed what runs: a
	// running sample whose parallelism differs, on any vertex, from that
	// of the previous running sample (a failover that comes back at the
	// same parallelism is not one). RescalesPerLoadChange is
	// ParallelismChanges ÷ LoadChanges.
	ParallelismChanges    int     `json:"parallelismChanges"`
	RescalesPerLoadChange float64 `json:"rescalesPerLoadChange"`
	// LoadChanges counts the start of the run and every later change of
	// the load level; ConvergeSeconds is the mean, over them, of the time
	// until the job settled (ConvergeMaxSeconds the largest); a change the
	// job never settled after counts the time until the next change or the
	// end, and is counted in Unconverged.
	LoadChanges        int     `json:"loadChanges"`
	ConvergeSeconds    float64 `json:"convergeSeconds"`
	ConvergeMaxSeconds float64 `json:"convergeMaxSeconds"`
	Unconverged        int     `json:"unconverged"`
	// SLOViolationSeconds is the time with lag above the scenario's
	// slo.maxLagSeconds; MaxLagSeconds the largest finite lag.
	SLOViolationSeconds float64 `json:"sloViolationSeconds"`
	MaxLagSeconds       float64 `json:"maxLagSeconds"`
	// SlotSeconds integrates Sample.Slots, OracleSlotSeconds
	// Sample.OracleSlots; CostVsOracle is their ratio.
	SlotSeconds       float64 `json:"slotSeconds"`
	OracleSlotSeconds float64 `json:"oracleSlotSeconds"`
	CostVsOracle      float64 `json:"costVsOracle"`
	DowntimeSeconds   float64 `json:"downtimeSeconds"`
	// Oracle15SlotSeconds integrates Sample.Oracle15Slots, the oracle that
	// keeps HeadroomOracle spare capacity; CostVsOracle15 is SlotSeconds
	// over it (below 1 for a policy thinner than 15 % headroom).
	Oracle15SlotSeconds float64 `json:"oracle15SlotSeconds"`
	CostVsOracle15      float64 `json:"costVsOracle15"`
	Experience
}

// Summary computes the scorecard of what was observed so far.
func (r *Recorder) Summary() Summary {
	ss := r.samples
	var sum Summary
	if len(ss) == 0 {
		return sum
	}
	sum.Decisions = len(r.decisions)
	sum.Rescales = ss[len(ss)-1].Restarts - ss[0].Restarts
	sum.DowntimeSeconds = (ss[len(ss)-1].Downtime - ss[0].Downtime).Seconds()
	for i, s := range ss {
		dt := weight(ss, i)
		sum.DurationSeconds += dt
		sum.SlotSeconds += dt * float64(s.Slots)
		sum.OracleSlotSeconds += dt * float64(s.OracleSlots)
		sum.Oracle15SlotSeconds += dt * float64(s.Oracle15Slots)
		if s.LagSeconds > r.sc.SLO.MaxLagSeconds {
			sum.SLOViolationSeconds += dt
		}
		if !math.IsInf(s.LagSeconds, 0) && s.LagSeconds > sum.MaxLagSeconds {
			sum.MaxLagSeconds = s.LagSeconds
		}
	}
	if sum.OracleSlotSeconds > 0 {
		sum.CostVsOracle = sum.SlotSeconds / sum.OracleSlotSeconds
	}
	if sum.Oracle15SlotSeconds > 0 {
		sum.CostVsOracle15 = sum.SlotSeconds / sum.Oracle15SlotSeconds
	}
	changes := r.convergence(&sum)
	sum.ParallelismChanges = r.parallelismChanges()
	if sum.LoadChanges > 0 {
		sum.RescalesPerLoadChange = float64(sum.ParallelismChanges) / float64(sum.LoadChanges)
	}
	sum.Experience = r.experience(changes)
	return sum
}

// OracleSummary is the scorecard of the oracle over the same offered load:
// the optimal parallelism at every instant, rescaled for free (no downtime,
// no lag). Its Rescales count the changes of the optimal parallelism at the
// load level (the offered rate smoothed over SmoothWindow), as following
// every noisy second would count noise, not load changes.
func (r *Recorder) OracleSummary() Summary {
	ss := r.samples
	var sum Summary
	var lv []level
	if len(ss) > 0 {
		lv = r.levels()
	}
	for i, s := range ss {
		dt := weight(ss, i)
		sum.DurationSeconds += dt
		sum.SlotSeconds += dt * float64(s.OracleSlots)
		if i > 0 && !slices.Equal(lv[i].p, lv[i-1].p) {
			sum.Rescales++
		}
	}
	sum.OracleSlotSeconds = sum.SlotSeconds
	if sum.OracleSlotSeconds > 0 {
		sum.CostVsOracle = 1
	}
	for i, s := range ss {
		sum.Oracle15SlotSeconds += weight(ss, i) * float64(s.Oracle15Slots)
	}
	if sum.Oracle15SlotSeconds > 0 {
		sum.CostVsOracle15 = sum.SlotSeconds / sum.Oracle15SlotSeconds
	}
	return sum
}

// parallelismChanges counts the running samples whose parallelism differs
// from that of the previous running sample.
func (r *Recorder) parallelismChanges() int {
	var last []int
	n := 0
	for _, s := range r.samples {
		if s.State != flinksim.StateRunning {
			continue
		}
		if last != nil && !slices.Equal(last, s.Parallelism) {
			n++
		}
		last = s.Parallelism
	}
	return n
}

// weight is the simulated seconds sample i stands for: the time since the
// previous sample (for the first, the step after it, assuming even steps).
func weight(ss []Sample, i int) float64 {
	switch {
	case i > 0:
		return (ss[i].Elapsed - ss[i-1].Elapsed).Seconds()
	case len(ss) > 1:
		return (ss[1].Elapsed - ss[0].Elapsed).Seconds()
	default:
		return ss[0].Elapsed.Seconds()
	}
}

// level is the load level at one sample: the oracle's parallelism and cost
// at the smoothed offered rate.
type level struct {
	p     []int
	slots int
}

// levels smooths the offered rate over SmoothWindow centred on each sample
// and sizes it with the oracle.
func (r *Recorder) levels() []level {
	ss := r.samples
	out := make([]level, len(ss))
	half := SmoothWindow / 2
	lo, hi, total := 0, 0, 0.0
	for i, s := range ss {
		for hi < len(ss) && ss[hi].Elapsed <= s.Elapsed+half {
			total += ss[hi].OfferedRate
			hi++
		}
		for ss[lo].Elapsed < s.Elapsed-half {
			total -= ss[lo].OfferedRate
			lo++
		}
		p := r.oracle(max(0, total/float64(hi-lo)))
		out[i] = level{p: p, slots: r.cost(p, -1)}
	}
	return out
}

// convergence fills the load-change and convergence fields of sum and
// returns the sample indices of the load changes.
func (r *Recorder) convergence(sum *Summary) []int {
	ss := r.samples
	lv := r.levels()
	changes := r.loadChanges(lv)
	sum.LoadChanges = len(changes)
	total := 0.0
	for k, c := range changes {
		end := len(ss)
		if k+1 < len(changes) {
			end = changes[k+1]
		}
		secs, ok := r.settle(lv, c, end)
		if !ok {
			sum.Unconverged++
		}
		total += secs
		sum.ConvergeMaxSeconds = max(sum.ConvergeMaxSeconds, secs)
	}
	if len(changes) > 0 {
		sum.ConvergeSeconds = total / float64(len(changes))
	}
	return changes
}

// loadChanges returns the sample indices of the start and of every change
// of the load level by more than LoadChangeFraction; changes less than
// SmoothWindow after the previous one are merged into it.
func (r *Recorder) loadChanges(lv []level) []int {
	changes := []int{0}
	ref := lv[0].slots
	for i := range lv {
		d := lv[i].slots - ref
		if d < 0 {
			d = -d
		}
		if d > 0 && float64(d) >= max(float64(r.costStep()), LoadChangeFraction*float64(ref)) {
			// A step passes through intermediate levels while the
			// smoothing window slides over it: one change, not several.
			last := changes[len(changes)-1]
			if len(changes) == 1 || r.samples[i].Elapsed-r.samples[last].Elapsed >= SmoothWindow {
				changes = append(changes, i)
			}
			ref = lv[i].slots
		}
	}
	return changes
}

// settle returns the time from sample c until the job settled (converged
// and stayed so for Hold, or until end), and whether it did before end.
func (r *Recorder) settle(lv []level, c, end int) (float64, bool) {
	ss := r.samples
	run := -1 // first index of the current converged run
	for i := c; i < end; i++ {
		if !r.converged(ss[i], lv[i]) {
			run = -1
			continue
		}
		if run < 0 {
			run = i
		}
		if ss[i].Elapsed-ss[run].Elapsed >= Hold || i == end-1 && end < len(ss) {
			return (ss[run].Elapsed - ss[c].Elapsed).Seconds(), true
		}
	}
	if run >= 0 && end == len(ss) {
		return (ss[run].Elapsed - ss[c].Elapsed).Seconds(), true
	}
	last := ss[end-1].Elapsed + time.Duration(weight(ss, end-1)*float64(time.Second))
	return (last - ss[c].Elapsed).Seconds(), false
}

// converged reports whether a sample's configuration fits its load level:
// running, lag within the SLO, every vertex at least at the level's
// parallelism, and paying at most Headroom above the level's cost.
func (r *Recorder) converged(s Sample, l level) bool {
	if s.State != flinksim.StateRunning || s.LagSeconds > r.sc.SLO.MaxLagSeconds {
		return false
	}
	for i, p := range s.Parallelism {
		if i < len(l.p) && p < l.p[i] {
			return false
		}
	}
	spare := max(r.costStep(), int(math.Ceil(Headroom*float64(l.slots))))
	return s.Slots <= l.slots+spare
}
