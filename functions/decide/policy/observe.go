package policy

import (
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// vertexView is one vertex as the latest settled sample shows it.
type vertexView struct {
	id, name string
	source   bool
	cur      int
	maxPar   int // key groups; the vertex's upper bound
	// units are the key groups (keyed) or partitions (sources) spread over
	// subtasks; 0 means records are spread evenly.
	units, parts int
	inputs       []int
	est          estimate // busy is -1 when unknown
	// rate is the busiest subtask's true rate (records/s of its input at
	// 100 % busy); 0 when unknown.
	rate float64
	// lowRate is rate with the busiest subtask's busy max as read (the
	// busy-time noise left in, busiestBusy): what a scale-down below cur
	// is sized on; rate when nothing was taken out.
	lowRate float64
	// rateCV is the relative spread of rate over the run's samples: how
	// well the vertex's capacity is known.
	rateCV float64
	// observed: rate is what a lagging, unthrottled source was seen to
	// read, as its busy time under-reads or is missing.
	observed bool
	// ceiling is a blind source's learned per-subtask ceiling (State.
	// Ceilings; 0 when none, or when its busy time says less): its rate,
	// and reading at saturated × it is its saturation.
	ceiling float64
	// saturated are the rates it was read to carry saturated
	// (Scaling.Saturated): a release's capacity is at most theirs
	// (measuredAt).
	saturated []Saturation
	// userLag: a source's backlog is a user's lag metric (events.Metric),
	// above what Flink reports for it or where Flink reports none.
	userLag bool
	// timeLag: that metric is a time lag, and offered is read from its
	// growth over the exporter's update period (timeLagOffered), never
	// from the backlog in records it stands for.
	timeLag bool
	// offered is a source's offered rate when it reports pending records:
	// records in + their growth over the rate window, or the freshest
	// samples' reading at a step up (risenOffered), or from a user's time
	// lag (timeLag).
	offered float64
	// seen is the most a source showing pending records was seen to read
	// (records/s, all its subtasks) in the window: a rate it has shown it
	// can read, whatever its busy time says.
	seen float64
}

// jobView is the job as the latest settled sample shows it.
type jobView struct {
	vs []vertexView
	// offered is the sources' offered rate (records/s): records in plus the
	// growth of pending records.
	offered float64
	// pending is the sources' pending records; lag is pending ÷ offered (s).
	pending, lag float64
	// minute is the offered rate as the rate window reads it, where a
	// source's freshest samples read a step up (risenOffered) above it.
	minute float64
	// blind: a source reports no pending records and the job is saturated,
	// so the offered rate may be above what is seen (probed, not known);
	// run is how long, and the least load that shows.
	blind bool
	run   blindRun
}

func (j jobView) flowing() bool {
	for _, v := range j.vs {
		if v.source && (v.est.in > 0 || v.est.pending > 0) {
			return true
		}
	}
	return false
}

// Constants of observation.
const (
	// laggingLag is the lag (s) from which a source whose pending records
	// grow while it is not back-pressured is taken to read at its capacity.
	laggingLag = 5
	// saturated is the busy or back-pressured fraction at which a vertex
	// counts as running at its capacity.
	saturated = 0.95
	// blindProbe is the growth sizing assumes over the seen rate when the
	// job is saturated and a source cannot show its backlog.
	blindProbe = 0.25
)

// observe reads every vertex from the window's latest sample of the run
// (Flink averages rates over 60 s) and its pending growth over RateWindow.
func observe(st State, snap *events.Snapshot, cfg Config) jobView {
	return observeIn(nil, st, snap, cfg)
}

// observeIn is observe with the views in scr's buffers (scratch.views;
// nil: new ones).
func observeIn(scr *scratch, st State, snap *events.Snapshot, cfg Config) jobView {
	s := scr.views()
	if s == nil {
		s = new(scratch)
	}
	ups := upstreamOf(s, snap)
	j := jobView{vs: zeroed(&s.vs, len(snap.Vertices), 0)}
	young := youngRamp(st, cfg.Settle)
	throttled := false // a downstream vertex is saturated: sources may be held back
	for _, s := range lastSample(st).V {
		throttled = throttled || s.BusyMax >= saturated
	}
	for i, v := range snap.Vertices {
		vv := vertexView{id: v.ID, name: orDash(v.Name), source: v.IsSource || len(v.Inputs) == 0, cur: v.Parallelism}
		vv.maxPar, vv.parts, vv.units = spread(&v, vv.source)
		vv.inputs = ups[i]
		j.vs[i] = vv
	}
	sigma := busyNoise(st, func(i int) int {
		if i < len(j.vs) {
			return j.vs[i].units
		}
		return -1
	}, cfg.Settle)
	for i := range snap.Vertices {
		v := &snap.Vertices[i]
		vv := j.vs[i]
		vv.est = estimateVertex(st.Window, i, vv.units, sigma, cfg.RateWindow)
		thr := throttled || (vv.source && meterRising(st.Window, i, cfg.Settle, cfg.RateWindow))
		vv.rate, vv.observed = trueRate(vv, thr)
		vv.lowRate = vv.rate
		if vv.est.noise > 0 {
			raw := vv
			raw.est.busy = vv.est.busyMax
			vv.lowRate, _ = trueRate(raw, thr)
		}
		if c, ok := st.Ceilings[v.ID]; ok && vv.source && underReads(vv, c) {
			vv.ceiling, vv.rate, vv.lowRate = c.PerSubtask, c.PerSubtask, c.PerSubtask
		}
		if vv.source && vv.est.pending >= 0 {
			vv.userLag = len(st.Metrics) > 0 && (v.PendingRecords == nil || *v.PendingRecords < vv.est.pending)
			vv.offered = maxF(vv.est.in+vv.est.slope, 0)
			if vv.timeLag = vv.userLag && timeLagOffered(&vv, st, snap, i, cfg); !vv.timeLag {
				vv.offered = risenOffered(st.Window, young, i, cfg.Settle, vv.offered)
			}
			vv.seen = seenRead(st.Window, i)
		}
		j.vs[i] = vv
	}
	for i, m := range rateSpreads(st, j.vs, cfg, zeroed(&s.spreads, len(j.vs), 0)) {
		j.vs[i].rateCV = m.cv()
	}
	j.sumSources()
	if j.blind {
		j.run = blindEpisode(st.Window, j, cfg.Settle, cfg.RateWindow)
	}
	return j
}

// youngRamp is the window de-ramped (deramped) when its run is too young
// for freshOffered's settled sample a minute before its span (the latest
// sample less than settle + freshSpan + (meterSpan − freshSpan)/2 into
// the run, 10 s slack), for risenOffered; nil otherwise or when the
// meters' ramp cannot be read.
func youngRamp(st State, settle time.Duration) []Sample {
	n := len(st.Window)
	if n == 0 || st.Window[n-1].At.Sub(st.Epoch) >= settle+freshSpan+(meterSpan-freshSpan)/2+10*time.Second {
		return nil
	}
	w, ok := deramped(st, settle)
	if !ok {
		return nil
	}
	return w
}

// maxTimeLagGrowth is the most growth per second of a time lag that the
// offered rate is read from (in ÷ (1 − growth)): above it the source reads
// under a fifth of what comes, or has stopped, and the quotient is noise;
// the reading is then at least 5 × in.
const maxTimeLagGrowth = 0.8

// timeLagOffered reports whether the user's metric that is v's backlog is
// a time lag (seconds or ms behind the head, exported every minute or so),
// and then sets v's offered rate from it: records in ÷ (1 − the lag's
// growth per second) between the exporter's two latest reports of the
// run, or records in alone while the run has no two such reports. The
// backlog in records is that lag × the rate read, so its growth between
// two samples holds the exporter's whole update period at once and, while
// the source catches up after a restart, the rate read's own rise: read
// over the rate window or the freshest 20 s, either is load that is not
// there (offered 268.8k rec/s read as "a step up" where 28k came). What it
// trades: a step is read an update period after it shows in the lag, and
// not before the run's second report.
func timeLagOffered(v *vertexView, st State, snap *events.Snapshot, i int, cfg Config) bool {
	keys, n := backlogKeys(&snap.Vertices[i], sourceCount(snap))
	g, timed, ok := st.timeLagGrowth(lastSample(st).At, st.Epoch.Add(cfg.Settle), cfg.MetricWindow, keys[:n]...)
	if !timed {
		return false
	}
	v.offered = maxF(v.est.in, 0)
	if ok {
		v.offered /= 1 - minF(g, maxTimeLagGrowth)
	}
	return true
}

// underReads: source v's learned ceiling c is its limit, not its busy
// time: it reports no busy time, or busy time that says more than the
// source was seen to read at its limit. A source that shows pending
// records (its pendingRecords registered late, after the catch-up that
// showed the ceiling) must under-read by more than ceilingSlack, so a
// busy time that is right but noisy keeps its own rate.
func underReads(v vertexView, c Ceiling) bool {
	if v.est.pending < 0 {
		return v.rate <= 0 || c.PerSubtask < v.rate
	}
	return v.rate > c.PerSubtask*(1+ceilingSlack)
}

// trueRate is the busiest subtask's rate at 100 % busy: records in × its
// share ÷ busy (DS2). A source that lags and grows its lag while not
// back-pressured reads as fast as it can: its true rate is what it reads ÷
// the unthrottled time, when that is lower than busy says or busy is
// missing (FLINK-33306's observed true processing rate); not while another
// vertex is saturated (throttled), which may hold it back unseen.
func trueRate(v vertexView, throttled bool) (float64, bool) {
	e := v.est
	perIn := e.in * share(v.units, v.cur)
	busyRate := 0.0
	if e.busy >= 0 {
		busyRate = perIn / maxF(e.busy, minBusy)
	}
	if !v.source || (throttled && e.busy >= 0) || e.pending < 0 || e.in <= 0 || e.pending < e.in*laggingLag || e.slope < 0 {
		return busyRate, false
	}
	obs := perIn / maxF(1-e.bp, 0.05)
	if busyRate == 0 || obs < busyRate {
		return obs, true
	}
	return busyRate, false
}

// meterRising reports whether source i's read rate rose by more than
// freshRise over the run's settled samples of the last meters window: a
// source that lags because it reads at its ceiling reads flat, while just
// after a step up its lag grows at once and its rate meter, which averages
// that window, still holds the minute before the step, when it read the
// lower load. Taken as what the source can read, that would size it for
// several times the subtasks it needs (wordcount: 12 k rec/s per subtask
// read 20 s after a step, where a subtask reads 50 k).
func meterRising(w []Sample, i int, settle, meters time.Duration) bool {
	n := len(w)
	if n < 2 {
		return false
	}
	last := w[n-1]
	if i >= len(last.V) {
		return false
	}
	from := -1.0
	for k := n - 2; k >= 0 && sameTime(w[k].Epoch, last.Epoch) && timeSub(last.At, w[k].At) <= meters; k-- {
		if timeSub(w[k].At, w[k].Epoch) >= settle && i < len(w[k].V) {
			from = w[k].V[i].In
		}
	}
	return from >= 0 && last.V[i].In > from*(1+freshRise)
}

// rateSpreads accumulate, per vertex, its busy-derived true rate over the
// run's settled samples where it was at least 30 % busy (below that, fixed
// overheads dominate busy time): their coefficient of variation is how
// well the vertex's capacity is known.
// out holds len(vs) zero moments.
func rateSpreads(st State, vs []vertexView, cfg Config, out []moments) []moments {
	settled := st.Epoch.Add(cfg.Settle)
	out = out[:len(vs)]
	var bBuf [16]bool // whether each vertex's busiest subtask is read
	busiest := bBuf[:0]
	for i := range vs {
		busiest = append(busiest, vs[i].units > 0)
	}
	busiest = busiest[:len(out)]
	for k := range st.Window {
		s := &st.Window[k]
		if !sameTime(s.Epoch, st.Epoch) || s.At.Before(settled) || len(s.V) != len(out) {
			continue
		}
		sv := s.V[:len(out)]
		for i := range out {
			x := &sv[i]
			b := x.BusyAvg
			if busiest[i] {
				b = x.BusyMax
			}
			if b >= 0.3 {
				out[i].add(x.In / b)
			}
		}
	}
	return out
}

// moments accumulates a coefficient of variation.
type moments struct{ n, sum, sq float64 }

func (m *moments) add(x float64) { m.n, m.sum, m.sq = m.n+1, m.sum+x, m.sq+x*x }

// cv is the coefficient of variation; 0 with fewer than 3 values or a mean
// that is not positive.
func (m moments) cv() float64 {
	if m.n < 3 || m.sum <= 0 {
		return 0
	}
	mean := m.sum / m.n
	return math.Sqrt(maxF(m.sq/m.n-mean*mean, 0)) / mean
}

// atCeiling: v is a blind source reading at least saturated × its learned
// ceiling per subtask.
func (v vertexView) atCeiling() bool {
	return atCeiling(VertexSample{P: v.cur, In: v.est.in}, v.ceiling)
}

// sumSources sets the job's offered rate, pending records and lag. A
// source without pending records offers what it reads; when the job is
// saturated (a blind source at its learned ceiling included) it may offer
// more, which sizing probes (blind).
func (j *jobView) sumSources() {
	sat := false
	for _, v := range j.vs {
		sat = sat || v.est.busy >= saturated || (v.source && v.est.bp >= saturated) || v.atCeiling()
	}
	for _, v := range j.vs {
		if !v.source {
			continue
		}
		if v.est.pending < 0 {
			j.offered += v.est.in
			j.minute += v.est.in // what its meters read over the minute, in both
			j.blind = j.blind || sat
			continue
		}
		j.offered += v.offered
		if v.timeLag { // read over the exporter's update period, not 20 s
			j.minute += v.offered
		} else {
			j.minute += maxF(v.est.in+v.est.slope, 0)
		}
		j.pending += v.est.pending
	}
	if j.offered > 0 {
		j.lag = j.pending / j.offered
	}
}

// demand is every vertex's input rate when the sources read mult × their
// offered rate: a source's offered rate, and downstream the sum over inputs
// of their demand × their observed selectivity (DS2).
func (j jobView) demand(mult float64) []float64 {
	return j.demandIn(make([]float64, len(j.vs)), mult)
}

// demandIn is demand into d, len(j.vs) zeros.
func (j jobView) demandIn(d []float64, mult float64) []float64 {
	for i := range j.vs {
		v := &j.vs[i]
		if v.source {
			off := v.est.in
			if v.est.pending >= 0 {
				off = v.offered
			} else if j.blind {
				off *= j.run.sizing()
			}
			d[i] = off * mult
			continue
		}
		for _, u := range v.inputs {
			sel := 1.0
			if uv := &j.vs[u]; uv.est.in > 0 {
				sel = uv.est.out / uv.est.in
			}
			d[i] += d[u] * sel
		}
	}
	return d
}

func lastSample(st State) Sample {
	if len(st.Window) == 0 {
		return Sample{}
	}
	return st.Window[len(st.Window)-1]
}

// spread is how a vertex's records spread over its subtasks: its key
// groups (max parallelism, maxParallelism when unset), its source
// partitions (0 if unknown), and the units spread (partitions for a
// source that reports them, key groups behind a hash shuffle, else 0:
// evenly).
func spread(v *events.VertexSnapshot, source bool) (maxPar, parts, units int) {
	maxPar = v.MaxParallelism
	if maxPar <= 0 {
		maxPar = maxParallelism
	}
	if v.SourcePartitions != nil && *v.SourcePartitions > 0 {
		parts = *v.SourcePartitions
	}
	switch {
	case source && parts > 0:
		units = parts
	case keyed(v.Inputs):
		units = maxPar
	}
	return maxPar, parts, units
}

// seenRead is the most vertex i was seen to read in w (records/s).
func seenRead(w []Sample, i int) float64 {
	most := 0.0
	for k := range w {
		if i < len(w[k].V) {
			most = maxF(most, w[k].V[i].In)
		}
	}
	return most
}
