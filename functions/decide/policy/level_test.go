package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// offeredWindow builds settled samples 60 s apart (epoch well before),
// ending at t0 + (len−1) min.
func offeredWindow(rates ...float64) []Sample {
	w := make([]Sample, len(rates))
	for i, o := range rates {
		w[i] = Sample{At: t0.Add(time.Duration(i) * time.Minute), Epoch: t0.Add(-time.Hour), Offered: o}
	}
	return w
}

func TestLevelAgeAndVolatility(t *testing.T) {
	cases := []struct {
		name    string
		rates   []float64
		offered float64
		age     time.Duration
		// cv over the whole window and over the level (when it held for
		// the 5 min scale-down window; else the whole window).
		cvAll, cvUsed float64
		// cvBefore: over the samples before the level (the 45k ones: 0;
		// the noise case: none, 0).
		cvBefore float64
	}{{
		// 45k for 4 samples then 12k for 6: the level (within 10 % of
		// 12k) began at minute 4, 5 min ago, a whole scale-down window. Whole window: mean
		// (4·45 + 6·12)/10 = 25.2k, variance 0.4·19.8² + 0.6·13.2² =
		// 261.36 → sd 16.17k, cv 0.6415. The level alone: cv 0.
		name:  "step down, level held 5 min",
		rates: []float64{45e3, 45e3, 45e3, 45e3, 12e3, 12e3, 12e3, 12e3, 12e3, 12e3}, offered: 12e3,
		age: 5 * time.Minute, cvAll: 0.6415, cvUsed: 0,
	}, {
		// The step 2 min ago: the level is too young, the whole
		// window counts: mean (8·45 + 3·12)/11 = 36k, variance
		// (8/11)·9² + (3/11)·24² = 216 → sd 14.70k, cv 0.4082.
		name:  "step down, level 2 min",
		rates: []float64{45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 12e3, 12e3, 12e3}, offered: 12e3,
		age: 2 * time.Minute, cvAll: 0.4082, cvUsed: 0.4082,
	}, {
		// ±5 % around 10k holds as one level: 10 samples, 9 min. Half at
		// 9.5k and half at 10.5k: cv 0.05.
		name:  "noise within the band",
		rates: []float64{9.5e3, 10.5e3, 9.5e3, 10.5e3, 9.5e3, 10.5e3, 9.5e3, 10.5e3, 9.5e3, 10.5e3}, offered: 10e3,
		age: 9 * time.Minute, cvAll: 0.05, cvUsed: 0.05,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := offeredWindow(c.rates...)
			now := w[len(w)-1].At
			r := &run{cfg: Defaults(), st: State{Window: w}, now: now, offered: c.offered}
			require.Equal(t, c.age, r.levelAge())
			require.InDelta(t, c.cvAll, volatility(w, r.cfg.Settle, time.Time{}), 1e-4)
			since := time.Time{}
			if c.age >= r.cfg.ScaleDownWindow {
				since = now.Add(-c.age)
			}
			require.InDelta(t, c.cvUsed, volatility(w, r.cfg.Settle, since), 1e-4)
			require.InDelta(t, c.cvBefore, volatilityBefore(w, r.cfg.Settle, now.Add(-c.age)), 1e-4)
		})
	}
}

func TestAbove(t *testing.T) {
	cases := []struct{ units, p, want int }{
		{units: 120, p: 20, want: 24}, // 6 key groups at 20 (and 21–23) → 5 at 24
		{units: 128, p: 4, want: 5},   // 32 → 26
		{units: 0, p: 20, want: 21},   // evenly spread
		{units: 12, p: 12, want: 13},  // at the limit: no smaller share
	}
	for _, c := range cases {
		require.Equal(t, c.want, above(c.units, c.p), "above(%d, %d)", c.units, c.p)
	}
}

// A scale-up's planned release skips the scale-down window when due: its
// backlog drained to at most 1 s of offered load (10,000 rec/s → 10,000
// records) on a rate that held its level a rate window (1 min), and for a
// young-level scale-up the level held 5 min.
func TestReleasing(t *testing.T) {
	cases := []struct {
		name    string
		release string
		pending float64
		level   time.Duration
		want    bool
	}{
		{name: "no release planned", level: time.Hour},
		{name: "backlog drained", release: ReleaseBacklog, pending: 10000, level: time.Minute, want: true},
		{name: "backlog not yet drained", release: ReleaseBacklog, pending: 10001, level: time.Hour},
		{name: "backlog drained, rate still moving", release: ReleaseBacklog, pending: 10000, level: 50 * time.Second},
		{name: "level held a 5 min window", release: ReleaseLevel, level: 5 * time.Minute, want: true},
		{name: "level younger than the window", release: ReleaseLevel, level: 4 * time.Minute},
		{name: "level held, backlog not drained", release: ReleaseLevel, pending: 20000, level: time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &run{cfg: Defaults(), st: State{Release: c.release}, offered: 10000, pending: c.pending, level: c.level}
			require.Equal(t, c.want, r.releasing())
		})
	}
}

// rideOut: one linear vertex, 1,000 rec/s per subtask, 10 subtasks, steady
// 9,000 rec/s offered: headroom now 10,000/9,000 − 1 = 11.1 %; the scale-up
// to 12 gives 12,000/9,000 − 1 = 33.3 %. SLO 60 s, downtime 30 s, Replay 30 s.
func TestRideOut(t *testing.T) {
	cases := []struct {
		name            string
		steady, pending float64
		hold            bool
	}{
		// lag 90 s: riding out (90 − 60)/0.111 = 270 s above the SLO;
		// after the restart 90 + 30 + 30 = 150 s, 30 + 90/0.333 = 300 s.
		{name: "ride out a small excess", steady: 9000, pending: 810000, hold: true},
		// lag 150 s: 90/0.111 = 810 s against 30 + 150/0.333 = 480 s.
		{name: "scale up for a large excess", steady: 9000, pending: 1350000},
		// lag 30 s: nothing above the SLO now; after, 30 + 30/0.333 = 120 s.
		{name: "under the SLO: ride out", steady: 9000, pending: 270000, hold: true},
		// 10,500 rec/s on a 10,000 capacity: cannot keep up.
		{name: "cannot keep up", steady: 10500, pending: 810000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vp := vplan{cur: 10, p: 12, exponent: 1, steady: c.steady, est: estimate{perSubtask: 1000, in: 9000}}
			r := &run{cfg: Defaults(), vs: []vplan{vp}, offered: c.steady, pending: c.pending, downtime: 30 * time.Second}
			h := r.rideOut()
			require.Equal(t, c.hold, h != nil, "%+v", h)
			if c.hold {
				require.Equal(t, HoldRestart, h.kind)
				require.Equal(t, 10, r.vs[0].p)
			}
		})
	}
}

// dropped: samples 1 min apart in one run (epoch 1 h before), 10 % band,
// VolatilityFactor 3, rate windows of 1 min. The level's samples and the one
// rate window before it (Flink's averaged ramp) do not count as "before".
func TestDropped(t *testing.T) {
	cases := []struct {
		name    string
		rates   []float64
		offered float64
		epoch   time.Duration // run start relative to t0
		want    bool
	}{{
		// 45k ×6, a ramp sample (30k), 12k ×3: level since minute 7
		// (2 min, more than half a rate window), before = minutes 0–5 at 45k (cv 0); 1 − 12/45 =
		// 0.733 > 0.1 + 3·0.
		name:  "step down far beyond noise",
		rates: []float64{45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 30e3, 12e3, 12e3, 12e3}, offered: 12e3,
		epoch: -time.Hour, want: true,
	}, {
		// the 12k level is one sample old: it has not held a rate window.
		name:  "level too young",
		rates: []float64{45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 30e3, 12e3}, offered: 12e3,
		epoch: -time.Hour,
	}, {
		// 10.5k/9.5k then 8.5k ×4: level since minute 6 (9.5k is
		// 11.8 % off); before = minutes 0–4: mean 10.1k, sd 0.49k, cv
		// 0.0485; 1 − 8.5/10.1 = 0.158 < 0.1 + 3·0.0485 = 0.245.
		name:  "drop within the noise",
		rates: []float64{10.5e3, 9.5e3, 10.5e3, 9.5e3, 10.5e3, 9.5e3, 8.5e3, 8.5e3, 8.5e3, 8.5e3}, offered: 8.5e3,
		epoch: -time.Hour,
	}, {
		// the run began on the level (after a rescale at minute 8):
		// the current parallelism was chosen for it.
		name:  "level older than the run",
		rates: []float64{45e3, 45e3, 45e3, 45e3, 45e3, 45e3, 30e3, 12e3, 12e3, 12e3}, offered: 12e3,
		epoch: 8 * time.Minute,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := offeredWindow(c.rates...)
			for i := range w {
				w[i].Epoch = t0.Add(c.epoch)
			}
			now := w[len(w)-1].At
			r := &run{cfg: Defaults(), st: State{Window: w, Epoch: t0.Add(c.epoch)}, now: now, offered: c.offered}
			r.level = r.levelAge()
			require.Equal(t, c.want, r.dropped())
		})
	}
}

// A drop far beyond the noise counts once its level has held half a rate
// window (30 s) and is sized with that level's own volatility. Samples 10 s
// apart (epoch 1 h before): 45k ×12 (0–110 s), Flink's ramp at 30k ×5
// (120–160 s), then the 12k level from 170 s, within 10 % of 12k.
func TestYoungDrop(t *testing.T) {
	cases := []struct {
		name  string
		level []float64 // samples from 170 s; the last is the offered rate
		age   time.Duration
		drop  bool
		// downCV: the level's own once the drop counts, else the whole
		// window's (the level is younger than a scale-down window).
		downCV float64
	}{{
		// 12k, 13k, 11k, 12k: level 30 s (170–200 s). Before = samples
		// before 200 − 30 − 60 = 110 s: 45k ×11, cv 0; level mean 12k,
		// variance (0 + 1 + 1 + 0)/4 = 0.5 → sd 0.7071k, cv 0.05893; drop
		// 1 − 12/45 = 0.733 > 0.1 + 3·(0 + 0.05893) = 0.277.
		name: "held half a rate window", level: []float64{12e3, 13e3, 11e3, 12e3},
		age: 30 * time.Second, drop: true, downCV: 0.05893,
	}, {
		// 13k, 11k, 12k: level 20 s, too young. Whole window (20
		// samples): mean (540 + 150 + 36)/20 = 36.3k, E[x²] = (12·2025 +
		// 5·900 + 169 + 121 + 144)/20 = 1461.7 → variance 144.01, sd
		// 12.0004k, cv 0.33059.
		name: "held 20 s", level: []float64{13e3, 11e3, 12e3},
		age: 20 * time.Second, downCV: 0.33059,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var w []Sample
			epoch := t0.Add(-time.Hour)
			for i, o := range append(append(rep(45e3, 12), rep(30e3, 5)...), c.level...) {
				w = append(w, Sample{At: t0.Add(time.Duration(i) * 10 * time.Second), Epoch: epoch, Offered: o})
			}
			now := w[len(w)-1].At
			r := &run{cfg: Defaults(), st: State{Window: w, Epoch: epoch}, now: now, offered: c.level[len(c.level)-1]}
			require.Nil(t, stepSize(r))
			require.Equal(t, c.age, r.level)
			require.Equal(t, c.drop, r.dropped())
			require.InDelta(t, c.downCV, r.downCV, 1e-4)
		})
	}
}

func rep(v float64, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}
