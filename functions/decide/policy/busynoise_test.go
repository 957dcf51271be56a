package policy

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readBusy draws one deploy's busy readings of p subtasks whose true busy
// times are busy(k), each off by a relative error of sd sigma, as the
// emulator's busyNoise does, and returns their max and average.
func readBusy(rng *rand.Rand, p int, sigma float64, busy func(k int) float64) (mx, avg float64) {
	for k := range p {
		b := busy(k) * (1 + sigma*rng.NormFloat64())
		mx = math.Max(mx, b)
		avg += b / float64(p)
	}
	return mx, avg
}

// A keyed vertex's busiest subtask read from the max of p noisy subtasks
// is biased up by about σ·e(p) (7 % at 8 with σ = 5 %); with the noise
// taken out it reads at most half that bias with even keys (a max that
// happens to read high is still taken partly as a hot subtask: +2.8 % at
// 8, +3.4 % at 16) and within 2 % of the truth with a hot subtask.
func TestBusiestBusyTakesOutTheNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const sigma, n = 0.05, 4000
	for _, p := range []int{2, 4, 8, 16, 32} {
		for _, hot := range []float64{1, 1.1, 1.3, 2} {
			truth := 0.5 * hot
			raw, fixed := 0.0, 0.0
			for range n {
				mx, avg := readBusy(rng, p, sigma, func(k int) float64 {
					if k == 0 {
						return truth
					}
					return 0.5
				})
				raw += mx / n
				fixed += busiestBusy(mx, avg, p, 256, sigma) / n
			}
			if hot == 1 && p >= 4 && raw/truth-1 < 0.03 {
				t.Errorf("p=%d even: raw max biased %.1f%%, want ≥ 3%% (the test reads no noise)", p, 100*(raw/truth-1))
			}
			e, bias := fixed/truth-1, raw/truth-1
			if hot == 1 && (e < -0.01 || e > bias/2) {
				t.Errorf("p=%d even: busiest read %.3f (raw %.3f) for %.3f: %+.1f%%, want within −1%% and half the raw %+.1f%%", p, fixed, raw, truth, 100*e, 100*bias)
			}
			if hot > 1 && math.Abs(e) > 0.02 {
				t.Errorf("p=%d hot ×%.1f: busiest read %.3f (raw %.3f) for %.3f: %+.1f%%, want within 2%%", p, hot, fixed, raw, truth, 100*e)
			}
		}
	}
}

// A saturated max, one subtask, or no noise measured: the max as read.
func TestBusiestBusyKeepsTheMax(t *testing.T) {
	for _, c := range []struct {
		mx, avg float64
		p       int
		sigma   float64
	}{{0.97, 0.9, 8, 0.05}, {0.6, 0.6, 1, 0.05}, {0.7, 0.6, 8, 0}, {0.7, -1, 8, 0.05}} {
		if got := busiestBusy(c.mx, c.avg, c.p, 256, c.sigma); got != c.mx {
			t.Errorf("busiestBusy(%v) = %v, want the max %v", c, got, c.mx)
		}
	}
}

// busyNoise reads σ from the vertices spread evenly, not from the keyed
// ones (whose max may be a hot key), not before the run settles, and
// keeps what earlier deploys read.
func TestBusyNoiseFromEvenVertices(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	units := func(i int) int { return []int{0, 128}[i] }
	var st State
	sum, n := 0.0, 0
	for d := range 40 { // 40 deploys, 3 samples each
		ev, ea := readBusy(rng, 6, 0.04, func(int) float64 { return 0.5 })
		kv, ka := readBusy(rng, 8, 0.04, func(k int) float64 { return 0.4 + 0.4*float64(k/7) })
		e := time.Unix(0, 0).Add(time.Duration(d) * time.Hour)
		st.BusyNoise = learnNoise(st, units, 30*time.Second)
		st.Epoch, st.Window = e, nil
		for s := range 3 {
			st.Window = append(st.Window, Sample{At: e.Add(time.Duration(s) * 30 * time.Second), Epoch: e, V: []VertexSample{
				{P: 6, BusyMax: ev, BusyAvg: ea}, {P: 8, BusyMax: kv, BusyAvg: ka}}})
		}
		if x, ok := epochNoise(st.Window, e, units, 30*time.Second).sigma(); ok {
			sum, n = sum+x, n+1
		}
	}
	if n != 40 || math.Abs(sum/float64(n)-0.04) > 0.006 { // one deploy's reading is ±45 % at p = 6
		t.Errorf("%d deploys read σ %.4f on average, want 40 and 0.04 ± 0.006", n, sum/float64(n))
	}
	if got := busyNoise(st, units, 30*time.Second); math.Abs(got-0.04) > 0.012 {
		t.Errorf("busyNoise = %.4f over the last %d deploys, want 0.04 ± 0.012", got, noiseDeploys)
	}
	if st.BusyNoise.Deploys != 39 {
		t.Errorf("%d deploys learnt, want 39 (all but the one running)", st.BusyNoise.Deploys)
	}
	if got := busyNoise(State{Window: st.Window[:1], Epoch: st.Epoch}, units, 30*time.Second); got != 0 {
		t.Errorf("busyNoise of an unsettled sample = %v, want 0", got)
	}
	for _, c := range []struct{ n, want float64 }{{2, 0.564}, {4, 1.029}, {8, 1.424}, {16, 1.766}} {
		if got := expectedMax(int(c.n)); math.Abs(got-c.want) > 0.03 {
			t.Errorf("expectedMax(%v) = %.3f, want %.3f", c.n, got, c.want)
		}
		if got := busiestExcess(0, int(c.n)); math.Abs(got-c.want) > 0.05 {
			t.Errorf("busiestExcess(0, %v) = %.3f, want e(n) %.3f", c.n, got, c.want)
		}
	}
}

// A size below the current one is priced from the busy max as read (the
// noise's bias kept as a release's margin); the current size and above
// from the busiest subtask with the noise taken out.
func TestReleasePricedOnTheMaxAsRead(t *testing.T) {
	v := vertexView{cur: 8, units: 256, rate: 10500, lowRate: 9800}
	for _, c := range []struct {
		p    int
		want float64
	}{{4, 9800}, {7, 9800}, {8, 10500}, {12, 10500}} {
		if got, want := capacityAt(&v, c.p, 1), c.want/share(256, c.p); math.Abs(got-want) > 1e-6 {
			t.Errorf("capacityAt(%d) = %.0f, want %.0f per busiest subtask: %.0f", c.p, got, c.want, want)
		}
	}
	v.lowRate = 0 // not read (a baseline's view): the rate
	if got := capacityAt(&v, 4, 1); got != 10500*4 {
		t.Errorf("capacityAt(4) without lowRate = %.0f, want %d", got, 10500*4)
	}
}

// The table of e(n) holds what Blom's formula gives, and the search's
// moments read once give what busiestExcess gives.
func TestExpectedMaxTable(t *testing.T) {
	for n := -1; n <= maxTabled+3; n++ {
		if got, want := expectedMax(n), blom(n); got != want {
			t.Fatalf("expectedMax(%d) = %v, want blom's %v", n, got, want)
		}
	}
	for _, p := range []int{2, 3, 8, 40} {
		for _, d := range []float64{0, 0.5, 2, 7} {
			mu, sd := blom(p-1), maxSD(p-1)
			theta := math.Sqrt(1 + sd*sd)
			a := (d - mu) / theta
			want := d*normCDF(a) + mu*normCDF(-a) + theta*normPDF(a)
			if got := busiestExcess(d, p); got != want {
				t.Errorf("busiestExcess(%v, %d) = %v, want %v", d, p, got, want)
			}
		}
	}
}

// The sum behind σ kept as samples enter and leave the window (gateRecord's
// slideNoise) is the walk's, bit for bit, over windows that slide, deploys
// that change, samples before and after the settle, vertices that change
// from even to keyed and a settle that changes; and it is kept (read
// without a walk) on every step but those that change what it counts.
func TestNoiseSumKeptEqualsWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 18))
	const nv = 5
	keyed := []bool{false, true, false, false, true}
	units := func(i int) int {
		if i < nv && keyed[i] {
			return 128
		}
		if i < nv {
			return 0
		}
		return -1
	}
	var w []Sample
	var kept NoiseSum
	epoch, at, settle := t0, t0, 30*time.Second
	walked, changes := 0, 0
	for step := range 3000 {
		at = at.Add(time.Duration(5+rng.IntN(20)) * time.Second)
		changed := false
		switch r := rng.IntN(200); {
		case r < 4: // a deploy
			epoch, changed = at, true
		case r < 5:
			keyed[2], changed = !keyed[2], true
		case r < 6:
			settle, changed = time.Duration(rng.IntN(90))*time.Second, true
		}
		if changed {
			changes++
		}
		v := make([]VertexSample, nv)
		for i := range v {
			avg := 0.1 + 0.9*rng.Float64()
			v[i] = VertexSample{P: 1 + rng.IntN(40), BusyAvg: avg, BusyMax: avg * (1 + 0.2*rng.Float64())}
		}
		old := w
		w = withSample(w, Sample{At: at, Epoch: epoch, V: v}, 10*time.Minute, 2+rng.IntN(60))
		before := kept
		kept = slideNoise(kept, old, w, epoch, units, settle)
		even, _ := evenMask(w, units)
		if !kept.keptFor(w, epoch, settle, even) {
			t.Fatalf("step %d: the sum is not kept for the window it was made for", step)
		}
		want := epochNoise(w, epoch, units, settle)
		if kept.Sum != want.Sum || kept.N != want.N {
			t.Fatalf("step %d: kept sum %d over %d, the walk %d over %d", step, kept.Sum, kept.N, want.Sum, want.N)
		}
		if !before.keptFor(old, epoch, settle, even) {
			walked++
			if step > 0 && !changed && len(old) > 0 {
				t.Fatalf("step %d: walked although nothing it counts changed", step)
			}
		}
	}
	if walked > changes+1 {
		t.Errorf("walked the window on %d of 3000 steps, want only on the first and the %d that change what it counts", walked, changes)
	}
}

// σ from the exact sum of terms rounded to 2⁻³⁶ is the float mean of the
// terms to within 10⁻¹⁰.
func TestNoiseSumRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var w []Sample
	for k := range 60 {
		v := make([]VertexSample, 10)
		for i := range v {
			avg := 0.3 + 0.6*rng.Float64()
			v[i] = VertexSample{P: 2 + rng.IntN(30), BusyAvg: avg, BusyMax: math.Min(avg*(1+0.1*rng.Float64()), 0.94)}
		}
		w = append(w, Sample{At: t0.Add(time.Duration(k) * 10 * time.Second), Epoch: t0, V: v})
	}
	sum, n := 0.0, 0
	for _, s := range w {
		for i := range s.V {
			x := s.V[i]
			sum += (x.BusyMax/x.BusyAvg - 1) / expectedMax(x.P)
			n++
		}
	}
	got, ok := epochNoise(w, t0, func(int) int { return 0 }, 0).sigma()
	if !ok || math.Abs(got-sum/float64(n)) > 1e-10 {
		t.Errorf("σ %.15f from the rounded sum, %.15f the float mean", got, sum/float64(n))
	}
}

// The benchmark's decision reads σ from the kept sum (its state came
// from 60 decisions; Ours reads the window settled MeterSettle at least),
// and decides as it does with the sum walked; the sum survives the state's
// JSON.
func TestDecideReadsTheKeptNoiseSum(t *testing.T) {
	in := benchInput(t, Ours{}, false, nil)
	st := in.State
	even, ok := evenMask(st.Window, func(i int) int { return snapUnits(&in.Snapshot, i) })
	require.True(t, ok)
	require.True(t, st.Noise.keptFor(st.Window, st.Epoch, max(in.Config.Settle, MeterSettle), even), "the state's noise sum is not kept for its window")
	require.Positive(t, st.Noise.N)
	out := Ours{}.Decide(in)
	walked := in
	walked.State.Noise = NoiseSum{}
	require.Equal(t, Ours{}.Decide(walked), out)
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var back State
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, st.Noise, back.Noise)
}
