package flinksim

import (
	"math"
	"math/rand/v2"
	"time"
)

// loadGen evaluates a Load at non-decreasing times. Random parts (noise, the
// random walk, spike starts) come from PCG streams seeded by the scenario
// seed, so the same seed and the same sequence of times give the same rates.
// It does not allocate after construction.
type loadGen struct {
	l     *Load
	noise *rand.Rand
	walk  *rand.Rand
	spike *rand.Rand
	ou    *rand.Rand // correlated noise
	burst *rand.Rand
	base  *loadGen

	ouX      float64 // correlated noise's current deviation
	ouT      time.Duration
	ouSet    bool
	burstEnd time.Duration
	burstAt  time.Duration // next second whose burst draw is due

	// randomwalk: value at the start of minute walkMin and of the next one.
	walkMin      int64
	walkA, walkB float64
	spikeMin     int64 // next minute whose spike draw is due
	spikeEnd     time.Duration
	cursor       int // step or trace index at or before the last time
	lastT        time.Duration
	lastRate     float64
	lastClean    float64
}

// newLoadGen builds the generator of l; depth separates the random streams
// of a nested spikes base from its parent's.
func newLoadGen(l *Load, seed int64, depth uint64) *loadGen {
	s := uint64(seed)
	g := &loadGen{
		l:     l,
		noise: rand.New(rand.NewPCG(s, 0x6e6f697365+depth)),
		walk:  rand.New(rand.NewPCG(s, 0x77616c6b+depth)),
		spike: rand.New(rand.NewPCG(s, 0x7370696b65+depth)),
		ou:    rand.New(rand.NewPCG(s, 0x6f75+depth)),
		burst: rand.New(rand.NewPCG(s, 0x6275727374+depth)),
		lastT: -1,
	}
	if l.Base != nil {
		g.base = newLoadGen(l.Base, seed, depth+16)
	}
	if l.Pattern == PatternRandomWalk {
		g.walkA = l.Start
		g.walkB = g.nextWalk(l.Start)
	}
	return g
}

// rate returns the offered records/s at t (noise included) and the rate
// without this level's noise. Calls must not go back in time; a repeated t
// returns the same values.
func (g *loadGen) rate(t time.Duration) (float64, float64) {
	if t == g.lastT {
		return g.lastRate, g.lastClean
	}
	clean := g.pattern(t)
	r := clean
	if g.l.Noise > 0 {
		r = clean * (1 + g.l.Noise*(2*g.noise.Float64()-1))
	}
	if g.l.CorrelatedNoise > 0 {
		r *= 1 + g.correlated(t)
	}
	if g.l.Bursts != nil && g.bursting(t) {
		r *= g.l.Bursts.Magnitude
	}
	r = max(r, 0)
	g.lastT, g.lastRate, g.lastClean = t, r, clean
	return r, clean
}

// correlated advances the Ornstein–Uhlenbeck deviation to t: stationary
// standard deviation CorrelatedNoise, correlation time NoiseCorrelation
// (exact discretisation, so the step size does not change its statistics).
func (g *loadGen) correlated(t time.Duration) float64 {
	sigma := g.l.CorrelatedNoise
	if !g.ouSet {
		g.ouX, g.ouT, g.ouSet = sigma*g.ou.NormFloat64(), t, true
		return g.ouX
	}
	a := math.Exp(-float64(t-g.ouT) / float64(g.l.NoiseCorrelation))
	g.ouX = g.ouX*a + sigma*math.Sqrt(1-a*a)*g.ou.NormFloat64()
	g.ouT = t
	return g.ouX
}

// bursting reports whether a burst is on at t, drawing a start for every
// whole second since the last call outside a burst.
func (g *loadGen) bursting(t time.Duration) bool {
	b := g.l.Bursts
	p := b.PerHour / 3600
	for g.burstAt <= t {
		if g.burstAt >= g.burstEnd && g.burst.Float64() < p {
			g.burstEnd = g.burstAt + b.Duration
		}
		g.burstAt += time.Second
	}
	return t < g.burstEnd
}

func (g *loadGen) pattern(t time.Duration) float64 {
	l := g.l
	switch l.Pattern {
	case PatternConstant:
		return l.Rate
	case PatternStep:
		for g.cursor+1 < len(l.Steps) && l.Steps[g.cursor+1].At <= t {
			g.cursor++
		}
		return l.Steps[g.cursor].Rate
	case PatternSine:
		return max(0, l.Mean+l.Amplitude*math.Sin(2*math.Pi*t.Seconds()/l.Period.Seconds()+l.Phase))
	case PatternCosine:
		return max(0, l.Mean+l.Amplitude*math.Cos(2*math.Pi*t.Seconds()/l.Period.Seconds()+l.Phase))
	case PatternRandomWalk:
		return g.walkAt(t)
	case PatternSpikes:
		return g.spikesAt(t)
	case PatternTrace:
		return g.traceAt(t)
	}
	return 0
}

func (g *loadGen) nextWalk(v float64) float64 {
	v += g.l.MaxStep * (2*g.walk.Float64() - 1)
	return min(max(v, g.l.Min), g.l.Max)
}

func (g *loadGen) walkAt(t time.Duration) float64 {
	m := int64(t / time.Minute)
	for g.walkMin < m {
		g.walkMin++
		g.walkA, g.walkB = g.walkB, g.nextWalk(g.walkB)
	}
	frac := float64(t-time.Duration(g.walkMin)*time.Minute) / float64(time.Minute)
	return g.walkA + (g.walkB-g.walkA)*frac
}

func (g *loadGen) spikesAt(t time.Duration) float64 {
	m := int64(t / time.Minute)
	for g.spikeMin <= m {
		start := time.Duration(g.spikeMin) * time.Minute
		if start >= g.spikeEnd && g.spike.Float64() < g.l.ProbabilityPerMinute {
			g.spikeEnd = start + g.l.SpikeDuration
		}
		g.spikeMin++
	}
	base, _ := g.base.rate(t)
	if t < g.spikeEnd {
		return base * g.l.Magnitude
	}
	return base
}

func (g *loadGen) traceAt(t time.Duration) float64 {
	tr := g.l.Trace
	for g.cursor+1 < len(tr) && tr[g.cursor+1].At <= t {
		g.cursor++
	}
	a := tr[g.cursor]
	if t <= a.At || g.cursor+1 == len(tr) {
		return a.Rate
	}
	b := tr[g.cursor+1]
	return a.Rate + (b.Rate-a.Rate)*float64(t-a.At)/float64(b.At-a.At)
}
