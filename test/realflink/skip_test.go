package realflink

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSkipsWithoutJavaOrMaven: on a machine with only Go, as the README's
// Quick start has it, `go test ./...` skips the real-Flink tests, naming
// what is missing, instead of failing them.
func TestSkipsWithoutJavaOrMaven(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // neither java nor mvn
	skipped := false
	t.Run("sandbox", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		StartSandbox(t, wireScenario, "1.20")
		t.Error("StartSandbox went on without java and mvn on PATH")
	})
	require.True(t, skipped, "the real-Flink test was not skipped")
}
