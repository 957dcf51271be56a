package policy

import "time"

// timeSub is t.Sub(u), the same Duration for every pair, in fewer
// instructions for the window's sample times: Sub takes the wall clocks'
// difference unless both times carry a monotonic clock reading, so when t
// carries none (times decoded from a snapshot or State, or made from them)
// and they are less than 2^32 s (136 years) apart, the difference cannot
// overflow and Sub's overflow check (an Add and an Equal) is left out;
// otherwise it is Sub. The window's passes take a few hundred differences
// a decision.
func timeSub(t, u time.Time) time.Duration {
	if t != t.Round(0) { // a monotonic reading
		return t.Sub(u)
	}
	ds := t.Unix() - u.Unix()
	if ds <= -1<<32 || ds >= 1<<32 {
		return t.Sub(u)
	}
	return time.Duration(ds)*time.Second + time.Duration(t.Nanosecond()-u.Nanosecond())
}

// sameTime is t.Equal(u), first comparing their representations: a
// window's samples carry copies of their run's Epoch, which are equal as
// values, so the loops that group samples by run seldom make Equal's call.
func sameTime(t, u time.Time) bool { return t == u || t.Equal(u) }
