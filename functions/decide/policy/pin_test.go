package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A fold's restart is observed from when the TaskManagers it asked for
// registered: the job was down while they (and the lost one's
// replacement) started, which a change of ours made while the job runs
// does not wait out down. Priced whole, the fold's 2m31s (faults seed
// 132001, its bounds pinned so the failover waited for them) sized the
// next scale-up for a 2m31s restart: 14 slots at +150 %, 1.17 → 2.31×
// oracle15.
func TestFoldObservedFromItsTaskManagers(t *testing.T) {
	at := t0
	fold := State{Downtime: 142 * time.Second, Outage: 151 * time.Second,
		Rescale: &Rescale{At: at, Failover: true, TaskManagers: 6, Ready: at.Add(115 * time.Second)}}
	o := observedRestart(fold, true)
	require.Equal(t, 27*time.Second, o.Outage)
	require.Equal(t, 27*time.Second, o.Downtime)
	require.True(t, o.Failover)

	notReady := fold
	r := *fold.Rescale
	r.Ready = time.Time{}
	notReady.Rescale = &r
	require.Equal(t, 151*time.Second, observedRestart(notReady, true).Outage, "no snapshot showed them: the whole outage")

	own := fold
	r = *fold.Rescale
	r.Failover = false
	own.Rescale = &r
	o = observedRestart(own, true)
	require.Equal(t, 151*time.Second, o.Outage, "a change of ours: as observed")
	require.True(t, o.Started)
}
