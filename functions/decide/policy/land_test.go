package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A Flink 2 scale-up that would land on the same checkpoint decided at
// the next poll waits for it; one at the last such poll, a failover's, a
// job that does not rescale on a checkpoint and a change that raises
// nothing are made as before. actuate declares the change as soon as its
// preparation ends, so it lands on the first checkpoint completed after.
func TestAwaitLanding(t *testing.T) {
	up := evaluation{candidate: candidate{ps: []int{16, 14, 22}, headroom: 0.3}, rises: true}
	poll := 10 * time.Second
	// tenant-metrics: TaskManagers start in ~35 s, the checkpoint after
	// them is due 59 s later (lands in ~1m34s), 1-minute checkpoints
	rc := restartCost{wait: 94 * time.Second, slack: 59 * time.Second, interval: time.Minute, source: replayOnCheckpoint, release: "2.0.1"}
	lands, spare := landing(rc)
	require.Equal(t, 94*time.Second, lands)
	require.Equal(t, 59*time.Second, spare)
	require.Equal(t, 35*time.Second/2, landMargin(rc), "half the preparation")
	msg := awaitLanding(up, rc, poll)
	require.Contains(t, msg, "lands on the checkpoint due in ~1m34s")
	require.Contains(t, msg, "with 59s to spare")
	require.Contains(t, msg, "traded: ")

	// still one poll and the spread to spare: held
	rc.wait, rc.slack = 63*time.Second, 28*time.Second
	require.NotEmpty(t, awaitLanding(up, rc, poll))
	// at the last poll that makes it: made
	rc.wait, rc.slack = 62*time.Second, 27*time.Second
	require.Empty(t, awaitLanding(up, rc, poll))

	// chains-windows: no preparation, the checkpoint due in 20 s: made
	// now, it lands on that one (a poll later it would miss it)
	ch := restartCost{wait: 20 * time.Second, slack: 20 * time.Second, interval: time.Minute, source: replayOnCheckpoint}
	lands, spare = landing(ch)
	require.Equal(t, 20*time.Second, lands)
	require.Equal(t, 20*time.Second, spare)
	require.Equal(t, landSpread, landMargin(ch))
	require.Empty(t, awaitLanding(up, ch, poll))
	ch.wait, ch.slack = 50*time.Second, 50*time.Second
	require.NotEmpty(t, awaitLanding(up, ch, poll))

	// on the checkpoint actuate triggers: one decided later triggers its
	// own, later, so nothing is held
	tr := restartCost{wait: 37 * time.Second, slack: 12 * time.Second, interval: 5 * time.Minute, source: replayOnCheckpoint, triggered: true}
	_, spare = landing(tr)
	require.Zero(t, spare)
	require.Empty(t, awaitLanding(up, tr, poll))
	require.Empty(t, landedNote(up, tr, time.Unix(0, 0), time.Unix(30, 0)), "held for something else")

	down := rc
	down.slack, down.wait = 59*time.Second, 94*time.Second
	other := down
	down.down = true
	require.Empty(t, awaitLanding(up, down, poll), "a failover's restart: the job is down")
	other.source = replayFromCheckpoint
	require.Empty(t, awaitLanding(up, other, poll), "not rescaled on a checkpoint")
	rc.slack, rc.wait = 59*time.Second, 94*time.Second
	require.Empty(t, awaitLanding(up, rc, 0), "no poll seen")
	require.Empty(t, awaitLanding(evaluation{candidate: candidate{ps: []int{4}, headroom: 0.3}}, rc, poll), "lowers only")
	require.Empty(t, awaitLanding(evaluation{candidate: candidate{ps: []int{16}, headroom: -1}, rises: true}, rc, poll), "keep")

	// the decision made after holds says so
	t0 := time.Unix(0, 0)
	require.Contains(t, landedNote(up, rc, t0, t0.Add(30*time.Second)), "chosen 30s ago and made at the last poll that lands on the checkpoint due in ~1m34s")
	require.Empty(t, landedNote(up, rc, time.Time{}, t0))
	require.Empty(t, landedNote(up, rc, t0, t0))
}
