package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rateWindowOf is a window of one run (started at t0) sampled every 10 s
// from 80 s to now, the offered rate at each sample given by rate.
func rateWindowOf(now time.Duration, rate func(at time.Duration) float64) []Sample {
	var w []Sample
	for at := 80 * time.Second; at <= now; at += 10 * time.Second {
		w = append(w, Sample{At: t0.Add(at), Epoch: t0, Offered: rate(at)})
	}
	return w
}

// meterStep is what Flink's 60 s rate meter reads of a load that steps
// from a to b at step.
func meterStep(a, b float64, step time.Duration) func(time.Duration) float64 {
	return func(at time.Duration) float64 {
		f := min(max((at-step).Seconds()/60, 0), 1)
		return a + (b-a)*f
	}
}

func TestDropOf(t *testing.T) {
	const settle, meters, window, react = 70 * time.Second, time.Minute, 5 * time.Minute, 2 * time.Minute
	spikeEnd := meterStep(150e3, 60e3, 600*time.Second)
	at := func(now time.Duration) (drop, []Sample) {
		w := rateWindowOf(now, spikeEnd)
		return dropOf(w, nil, w[len(w)-1].Offered, 0.02, settle, meters, window, react, t0.Add(now)), w
	}

	// 40 s after the spike's end the meter still reads 90k: the level is
	// young, a scale-down waits
	d, _ := at(640 * time.Second)
	require.True(t, d.young)
	require.InDelta(t, 150e3, d.from, 1)
	require.True(t, d.since.IsZero())

	// the last sample outside the band read 75k at 650 s: a sixth of its
	// minute still at 150k, so the step ended at 600 s, and the level has
	// lasted the reaction time by 720 s (not from a rate window after that
	// sample, 710 s, to 830 s: wordcount's scale-down after its step down
	// came 4.5 minutes after it); a step down, the peak is the level's own,
	// from 660 s, the first sample whose minute is all after the step
	d, _ = at(710 * time.Second)
	require.True(t, d.young)
	d, w := at(720 * time.Second)
	require.False(t, d.young)
	require.Equal(t, t0.Add(660*time.Second), d.since)
	require.InDelta(t, 150e3, d.before, 1)
	require.InDelta(t, 1, peakFrom(w, nil, 60e3, settle, d.since), 1e-9)
	require.InDelta(t, 2.5, peakFrom(w, nil, 60e3, settle, t0.Add(840*time.Second-window)), 1e-9)

	// a slow decline (10 % over the 5 minutes) neither waits nor steps
	slow := func(at time.Duration) float64 { return 66e3 - 6e3*min(at.Seconds()/300, 1) }
	w = rateWindowOf(400*time.Second, slow)
	d = dropOf(w, nil, w[len(w)-1].Offered, 0.02, settle, meters, window, react, t0.Add(400*time.Second))
	require.Equal(t, drop{}, d)

	// right after a spike the load's change reads the spike itself (±56 %):
	// the band stays within maxLevelBand and the spike is still a step down
	d = dropOf(rateWindowOf(640*time.Second, spikeEnd), nil, 90e3, 0.56, settle, meters, window, react, t0.Add(640*time.Second))
	require.True(t, d.young)
	require.InDelta(t, 150e3, d.from, 1)
	w = rateWindowOf(840*time.Second, spikeEnd)
	d = dropOf(w, nil, 60e3, 0.56, settle, meters, window, react, t0.Add(840*time.Second))
	require.False(t, d.young)
	require.InDelta(t, 150e3, d.before, 1)

	// noise within the band (three times the load's change, ±5 %) is no step
	noisy := func(at time.Duration) float64 { return 60e3 * (1 + 0.05*float64(int(at.Seconds()/10)%3-1)) }
	w = rateWindowOf(600*time.Second, noisy)
	d = dropOf(w, nil, w[len(w)-1].Offered, 0.05, settle, meters, window, react, t0.Add(600*time.Second))
	require.Equal(t, drop{}, d)

	// samples of a restart's settle time neither join nor break the level:
	// a step that fell across a restart is still seen
	w = rateWindowOf(820*time.Second, spikeEnd)
	restart := t0.Add(620 * time.Second)
	for k := range w {
		if !w[k].At.Before(restart) {
			w[k].Epoch = restart
		}
	}
	d = dropOf(w, nil, 60e3, 0.02, settle, meters, window, react, t0.Add(820*time.Second))
	require.False(t, d.young)
	require.Equal(t, restart.Add(settle), d.since)
}

// A scale-down waits while the level is young; a scale-up or keep never
// does.
func TestAwaitFall(t *testing.T) {
	ld := load{drop: drop{young: true, from: 150e3}, react: 2 * time.Minute}
	j := jobView{offered: 90e3}
	down := evaluation{candidate: candidate{headroom: 0}}
	require.Contains(t, awaitFall(down, j, ld), "fell from 150.0k to 90.0k rec/s")
	require.Empty(t, awaitFall(evaluation{candidate: candidate{headroom: -1}}, j, ld))
	require.Empty(t, awaitFall(evaluation{candidate: candidate{headroom: 0}, rises: true}, j, ld))
	require.Empty(t, awaitFall(down, j, load{}))
}

// A scale-down waits while the last 20 s read the offered rate more than
// 10 % off the minute's meters (the load fell from 150k to 57k rec/s 40 s
// ago: the meters read 86k); once they agree, or for a scale-up or keep,
// or a source without pending records, it does not.
func TestAwaitMeters(t *testing.T) {
	offered := func(s float64) float64 {
		if s >= 300 {
			return 57000
		}
		return 150000
	}
	meter := func(s float64) float64 { // mean of what was read over (s−60, s]
		sum := 0.0
		for x := s - 59; x <= s; x++ {
			sum += offered(x)
		}
		return sum / 60
	}
	window := func(until float64) []Sample {
		var w []Sample
		for s := 100.0; s <= until; s += 10 {
			w = append(w, Sample{At: t0.Add(time.Duration(s) * time.Second), Epoch: t0, V: []VertexSample{{In: meter(s), Pending: 0}}})
		}
		return w
	}
	j := jobView{vs: []vertexView{{source: true, est: estimate{pending: 0}}}}
	down := evaluation{candidate: candidate{headroom: 0}}

	w := window(340)
	j.minute = w[len(w)-1].V[0].In
	require.InDelta(t, 86450, j.minute, 1)
	msg := awaitMeters(down, w, j, MeterSettle)
	require.Contains(t, msg, "the last 20s read 55.5k rec/s where the minute's rates show 86.5k")
	require.Empty(t, awaitMeters(evaluation{candidate: candidate{headroom: 0}, rises: true}, w, j, MeterSettle))
	require.Empty(t, awaitMeters(evaluation{candidate: candidate{headroom: -1}}, w, j, MeterSettle))
	blind := jobView{vs: []vertexView{{source: true, est: estimate{pending: -1}}}, minute: j.minute}
	require.Empty(t, awaitMeters(down, w, blind, MeterSettle))

	w = window(400) // a minute after the step the meters agree
	j.minute = w[len(w)-1].V[0].In
	require.Empty(t, awaitMeters(down, w, j, MeterSettle))
}
