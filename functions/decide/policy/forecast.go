package policy

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Profile is the offered rate's mean per bucket of the period (Config.
// Forecast) for the current period and the profileCycles−1 before it:
// profileCycles × profileBuckets numbers at most, whatever the job's age.
type Profile struct {
	Period time.Duration `json:"period"`
	// Cycle is the current period's number (periods since the Unix epoch).
	Cycle int64 `json:"cycle"`
	// Rates[k][b] is the mean offered rate in bucket b of period Cycle−k,
	// Counts[k][b] the samples it averages (0: none).
	Rates  [][]float64 `json:"rates"`
	Counts [][]int     `json:"counts"`
}

// Profile bounds.
const (
	profileCycles  = 4
	profileBuckets = 96
	// riseMin is the least rise a forecast acts on; riseAgree the largest
	// ratio between the rises of different periods that still counts as
	// the same shape repeating.
	riseMin   = 0.1
	riseAgree = 1.3
)

func (p *Profile) bucketLen() time.Duration { return p.Period / profileBuckets }

func (p *Profile) at(t time.Time) (cycle int64, bucket int) {
	n := t.UnixNano()
	per := int64(p.Period)
	return n / per, int((n % per) / int64(p.bucketLen()))
}

// withSample returns a copy of p (a new profile for period when p is nil
// or of another period) with offered recorded at t. No period's rates are
// ever written in place: the copy shares them with p but for the one it
// writes, which it copies first.
func (p *Profile) withSample(period time.Duration, t time.Time, offered float64) *Profile {
	next := &Profile{Period: period}
	if p != nil && p.Period == period {
		next.Cycle = p.Cycle
		next.Rates, next.Counts = slices.Clone(p.Rates), slices.Clone(p.Counts)
	}
	shared := len(next.Rates) > 0 // Rates[0] and Counts[0] are p's
	cycle, b := next.at(t)
	if len(next.Rates) == 0 || cycle > next.Cycle {
		shift := int(min(cycle-next.Cycle, profileCycles))
		if len(next.Rates) == 0 {
			shift = 1
		}
		for range shift {
			next.Rates = append([][]float64{make([]float64, profileBuckets)}, next.Rates...)
			next.Counts = append([][]int{make([]int, profileBuckets)}, next.Counts...)
		}
		next.Rates, next.Counts = next.Rates[:min(len(next.Rates), profileCycles)], next.Counts[:min(len(next.Counts), profileCycles)]
		next.Cycle = cycle
		shared = false
	}
	if cycle < next.Cycle || math.IsNaN(offered) || offered < 0 {
		return next
	}
	if shared {
		next.Rates[0], next.Counts[0] = slices.Clone(next.Rates[0]), slices.Clone(next.Counts[0])
	}
	n := next.Counts[0][b]
	next.Rates[0][b] = (next.Rates[0][b]*float64(n) + offered) / float64(n+1)
	next.Counts[0][b] = min(n+1, 1<<20)
	return next
}

// rise is the rise the past periods agree on between now and lead later
// (at least the next bucket), relative to each period's own rate at this
// time: the smallest of them, when at least two periods show one of at
// least riseMin and they agree within riseAgree; 1 otherwise.
func (p *Profile) rise(now time.Time, lead time.Duration, offered float64) (float64, string) {
	cycle, b := p.at(now)
	if cycle != p.Cycle {
		return 1, ""
	}
	lead = max(lead, p.bucketLen())
	var rs []float64
	for k := 1; k < len(p.Rates); k++ {
		base := p.Rates[k][b]
		if p.Counts[k][b] == 0 || base <= 0 {
			continue
		}
		r, seen := 0.0, false
		for t := now.Add(p.bucketLen()); !t.After(now.Add(lead)); t = t.Add(p.bucketLen()) {
			c, tb := p.at(t)
			kk := k - int(c-cycle)
			if kk < 0 || p.Counts[kk][tb] == 0 {
				continue
			}
			r, seen = math.Max(r, p.Rates[kk][tb]/base), true
		}
		if seen {
			rs = append(rs, r)
		}
	}
	if len(rs) < 2 || offered <= 0 {
		return 1, ""
	}
	lo, hi := slices.Min(rs), slices.Max(rs)
	if lo < 1+riseMin || hi > lo*riseAgree {
		return 1, ""
	}
	return lo, fmt.Sprintf("forecast: in each of the last %d periods of %s the load rose ×%.2f within %s of this time",
		len(rs), p.Period, lo, lead.Round(time.Minute))
}
