package events

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The wait for the checkpoint that lands a rescale is the same for decide
// and actuate: two intervals and a tenth on Flink 2 with checkpointing (the
// next checkpoint may fail), none on 1.x or without checkpoints, at most
// MaxCheckpointGate.
func TestCheckpointGate(t *testing.T) {
	for _, c := range []struct {
		version  string
		interval time.Duration
		want     time.Duration
	}{
		{"2.0.1", 6 * time.Minute, 12*time.Minute + 36*time.Second},
		{"2.3.0", time.Minute, 2*time.Minute + 6*time.Second},
		{"2.0.1", 30 * time.Minute, MaxCheckpointGate},
		{"2.0.1", 0, 0},
		{"1.20.1", 6 * time.Minute, 0},
		{"1.18.1", 6 * time.Minute, 0},
		{"", 6 * time.Minute, 0},
		{"unknown", 6 * time.Minute, 0},
	} {
		assert.Equal(t, c.want, CheckpointGate(c.version, c.interval), "%s at %s", c.version, c.interval)
		assert.Equal(t, c.want > 0, RescalesOnCheckpoint(c.version, c.interval), "%s at %s", c.version, c.interval)
	}
}
