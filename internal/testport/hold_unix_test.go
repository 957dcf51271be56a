//go:build unix

package testport

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHoldIsExclusiveUntilReleased: a second holder of the same file is
// refused while the first holds it, and gets it once the first releases.
func TestHoldIsExclusiveUntilReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "port")
	release, ok := hold(path)
	require.True(t, ok)
	_, again := hold(path)
	require.False(t, again, "a held port's file was held twice")
	release()
	release2, ok := hold(path)
	require.True(t, ok)
	release2()
}
