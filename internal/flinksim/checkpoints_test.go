package flinksim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckpointConfigAndLatest(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, ""))
	_, ok := c.LatestCheckpoint()
	require.False(t, ok, "no checkpoint before the first interval")

	c.Advance(90 * time.Second) // checkpoint 1 at 60 s
	at, ok := c.LatestCheckpoint()
	require.True(t, ok)
	require.Equal(t, 60*time.Second, at)

	cfg := getJSON(t, base+"/jobs/"+c.JobID()+"/checkpoints/config", 200).(map[string]any)
	require.Equal(t, 60000.0, cfg["interval"])
	require.Equal(t, "exactly_once", cfg["mode"])
	getJSON(t, base+"/jobs/00000000000000000000000000000000/checkpoints/config", 404)
}
