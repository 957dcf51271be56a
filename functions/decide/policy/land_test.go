package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A Flink 2 scale-up whose checkpoint is due more than a poll and the
// margin after its preparation waits for the next poll (it lands on the
// same checkpoint decided then); one at the last such poll, a failover's,
// a job that does not rescale on a checkpoint and a change that raises
// nothing are made as before.
func TestAwaitLanding(t *testing.T) {
	up := evaluation{candidate: candidate{ps: []int{16, 14, 22}, headroom: 0.3}, rises: true}
	poll := 10 * time.Second
	// tenant-metrics: TaskManagers start in ~35 s, the checkpoint after
	// them is due 59 s later (lands in ~1m34s)
	rc := restartCost{wait: 94 * time.Second, slack: 59 * time.Second, source: replayOnCheckpoint, release: "2.0.1"}
	require.Equal(t, checkpointWait, landMargin(rc), "at least actuate's checkpoint wait")
	msg := awaitLanding(up, rc, poll)
	require.Contains(t, msg, "lands on the checkpoint due in ~1m34s")
	require.Contains(t, msg, "traded: ")

	// at the last poll that makes it: made
	rc.wait, rc.slack = 75*time.Second, 40*time.Second
	require.Empty(t, awaitLanding(up, rc, poll))

	// a 4-minute start-up: half of it spared
	long := restartCost{wait: 7 * time.Minute, slack: 3 * time.Minute, source: replayOnCheckpoint}
	require.Equal(t, 2*time.Minute, landMargin(long))
	require.NotEmpty(t, awaitLanding(up, long, poll))
	long.slack = 2*time.Minute + poll
	require.Empty(t, awaitLanding(up, long, poll))

	rc = restartCost{wait: 94 * time.Second, slack: 59 * time.Second, source: replayOnCheckpoint}
	down := rc
	down.down = true
	require.Empty(t, awaitLanding(up, down, poll), "a failover's restart: the job is down")
	other := rc
	other.source = replayFromCheckpoint
	require.Empty(t, awaitLanding(up, other, poll), "not rescaled on a checkpoint")
	require.Empty(t, awaitLanding(up, rc, 0), "no poll seen")
	require.Empty(t, awaitLanding(evaluation{candidate: candidate{ps: []int{4}, headroom: 0.3}}, rc, poll), "lowers only")
	require.Empty(t, awaitLanding(evaluation{candidate: candidate{ps: []int{16}, headroom: -1}, rises: true}, rc, poll), "keep")

	// the decision made after holds says so
	t0 := time.Unix(0, 0)
	require.Contains(t, landedNote(up, rc, t0, t0.Add(30*time.Second)), "chosen 30s ago and made at the last poll that lands on the checkpoint due in ~1m34s")
	require.Empty(t, landedNote(up, rc, time.Time{}, t0))
	require.Empty(t, landedNote(up, rc, t0, t0))
}
