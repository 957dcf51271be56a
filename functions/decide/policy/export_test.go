package policy

// SetLagShare sets the lag's share of the SLO price for a test (the knob
// sweep) and returns a function restoring it.
func SetLagShare(v float64) func() {
	old := lagShare
	lagShare = v
	return func() { lagShare = old }
}

// pinned is a job's state once its bounds were declared (pinBounds): the
// starting state of tests about what follows, in which a first keep holds
// rather than pins.
var pinned = State{Pinned: t0}
