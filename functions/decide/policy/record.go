package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

func stepRecord(r *run) *hold {
	smp := Sample{At: r.now, Epoch: r.st.Epoch, V: r.sampleVertices()}
	smp.Offered = offeredAt(r.st.Window, smp, r.snapSources(), r.cfg.RateWindow)
	r.st.Window = withSample(r.st.Window, smp, r.cfg.MetricWindow, r.cfg.MaxSamples)
	return nil
}

func (r *run) snapSources() []bool {
	if r.sources != nil {
		return r.sources
	}
	src := make([]bool, len(r.snap.Vertices))
	for i, v := range r.snap.Vertices {
		src[i] = v.IsSource || len(v.Inputs) == 0
	}
	r.sources = src
	return src
}

// sampleVertices reduces the snapshot to the numbers the policies use. A
// source without pendingRecords takes a user's lag metric for it, or the
// job's when the job has one source.
func (r *run) sampleVertices() []VertexSample {
	src := r.snapSources()
	nsrc := 0
	for _, s := range src {
		if s {
			nsrc++
		}
	}
	out := make([]VertexSample, len(r.snap.Vertices))
	for i, v := range r.snap.Vertices {
		vs := VertexSample{P: v.Parallelism, Pending: -1, BusyMax: -1, BusyAvg: -1}
		if b := v.BusyMsPerSecond; b != nil {
			vs.BusyMax, vs.BusyAvg = math.Min(b.Max/1000, 1), math.Min(b.Avg/1000, 1)
		}
		if bp := v.BackPressuredMsPerSecond; bp != nil {
			vs.BP = math.Min(bp.Avg/1000, 1)
		}
		if v.RecordsInPerSecond != nil {
			vs.In = *v.RecordsInPerSecond
		}
		vs.Out = vs.In
		if v.RecordsOutPerSecond != nil {
			vs.Out = *v.RecordsOutPerSecond
		}
		if v.PendingRecords != nil {
			vs.Pending = *v.PendingRecords
		}
		if src[i] { // a user's backlog metric counts when it is the larger (events.CheckUserMetric)
			keys := []string{v.ID, v.Name}
			if nsrc == 1 {
				keys = append(keys, "")
			}
			if m, ok := r.st.userBacklog(r.now, r.cfg.MetricWindow, keys...); ok {
				vs.Pending = math.Max(vs.Pending, events.BacklogRecords(m, vs.In))
			}
		}
		out[i] = vs
	}
	return out
}

// offeredAt is Σ over sources of records in plus the growth of pending
// records since the oldest sample of the same epoch within span.
func offeredAt(w []Sample, smp Sample, src []bool, span time.Duration) float64 {
	var ref *Sample
	for i := len(w) - 1; i >= 0 && w[i].Epoch.Equal(smp.Epoch) && !w[i].At.Before(smp.At.Add(-span)); i-- {
		ref = &w[i]
	}
	total := 0.0
	for i, v := range smp.V {
		if !src[i] {
			continue
		}
		total += v.In
		if ref != nil && len(ref.V) == len(smp.V) && v.Pending >= 0 && ref.V[i].Pending >= 0 {
			if dt := smp.At.Sub(ref.At).Seconds(); dt > 0 {
				total += (v.Pending - ref.V[i].Pending) / dt
			}
		}
	}
	return math.Max(total, 0)
}

// stepInFlight waits, up to RescaleTimeout, until snapshots show the last
// decision's targets.
//
//	no decision / applied ──────────────────────────────► continue
//	pending ── snapshot shows targets ──► applied (downtime learned) ► continue
//	pending ── RescaleTimeout passed ───► dropped ───────────────────► continue
//	pending ── otherwise ───────────────► hold in_flight
func stepInFlight(r *run) *hold {
	rs := r.st.Rescale
	if rs == nil || !rs.Applied.IsZero() {
		return nil
	}
	if r.shows(rs.Targets) {
		c := *rs
		c.Applied = r.now
		if run := r.snap.RunningSince; run != nil && run.After(rs.At) && run.Sub(rs.At) < r.cfg.RescaleTimeout {
			r.st.Downtime = run.Sub(rs.At)
			r.st.Outage = run.Sub(r.stoppedAfter(rs.At, *run))
		}
		r.st.Rescale = &c
		return nil
	}
	if r.now.Sub(rs.At) < r.cfg.RescaleTimeout {
		return holdf(HoldInFlight, fmt.Sprintf("waiting for decision %s (%s ago) to take effect",
			rs.DecisionID, r.now.Sub(rs.At).Round(time.Second)))
	}
	r.st.Rescale = nil
	return nil
}

// shows reports whether the snapshot runs at targets; a vertex may stop at
// its max parallelism (reactive mode bounds it there).
func (r *run) shows(targets map[string]int) bool {
	for _, v := range r.snap.Vertices {
		t, ok := targets[v.ID]
		if !ok {
			continue
		}
		if v.Parallelism != t && !(v.MaxParallelism > 0 && t > v.MaxParallelism && v.Parallelism == v.MaxParallelism) {
			return false
		}
	}
	return true
}

func stepPaused(r *run) *hold {
	if r.cfg.Paused {
		r.st.UpSince = time.Time{}
		return holdf(HoldPaused, "scaling is paused for this job")
	}
	return nil
}

// stepCooldown holds while the last decision, or the run its restart began,
// is younger than MinInterval: actuate skips a decision arriving inside its
// own rate limit (--min-interval, kept below MinInterval), and a skipped
// decision would leave the policy waiting RescaleTimeout for targets that
// never show. Without a decision of ours there is nothing to cool down from.
func stepCooldown(r *run) *hold {
	rs := r.st.Rescale
	if r.cfg.MinInterval <= 0 || rs == nil {
		return nil
	}
	since := rs.At
	if r.st.Epoch.After(since) {
		since = r.st.Epoch
	}
	if age := r.now.Sub(since); age < r.cfg.MinInterval {
		return holdf(HoldCooldown, fmt.Sprintf("last decision or restart %s ago; next decision after %s (minInterval)",
			age.Round(time.Second), r.cfg.MinInterval))
	}
	return nil
}

// stepSettle holds until the run is Settle old and at least two samples were
// taken after that within RateWindow.
func stepSettle(r *run) *hold {
	fresh := r.st.settled(r.now, r.cfg.Settle, r.cfg.RateWindow)
	if age := r.now.Sub(r.st.Epoch); age < r.cfg.Settle || len(fresh) < 2 {
		return holdf(HoldSettling, fmt.Sprintf("job running for %s; metrics settle after %s (%d of 2 fresh samples)",
			age.Round(time.Second), r.cfg.Settle, len(fresh)))
	}
	return nil
}

// stoppedAfter is the latest time in [at, run) the job was seen running
// before its restart that ended at run (at when it was never seen): the
// restart's outage excludes the TaskManagers' startup and the checkpoint
// wait that preceded it.
func (r *run) stoppedAfter(at, run time.Time) time.Time {
	stop := at
	for _, s := range r.st.Window {
		if s.At.After(stop) && s.At.Before(run) {
			stop = s.At
		}
	}
	return stop
}
