package policy

// SetLagShare sets the lag's share of the SLO price for a test (the knob
// sweep) and returns a function restoring it.
func SetLagShare(v float64) func() {
	old := lagShare
	lagShare = v
	return func() { lagShare = old }
}
