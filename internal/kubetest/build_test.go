package kubetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeModule(t *testing.T, main string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26.0\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o600))
	return dir
}

func TestGoBuildFailureIsExplained(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	src := writeModule(t, "package main\n\nfunc main() { undefined() }\n")
	bin := filepath.Join(t.TempDir(), "kubeapiserver")
	err = goBuild(goTool, src, bin, nil)
	require.ErrorContains(t, err, "the first build needs the Go module proxy")
	require.ErrorContains(t, err, "undefined")
	require.NoFileExists(t, bin)
	matches, _ := filepath.Glob(bin + "*")
	require.Empty(t, matches, "no partial binary is left behind")
}

func TestSourceKeyFollowsSources(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	tests := []struct {
		name    string
		a, b    string
		sameKey bool
	}{
		{name: "same sources", a: "package main\n", b: "package main\n", sameKey: true},
		{name: "main.go changed", a: "package main\n", b: "package main\n\n// changed\n", sameKey: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, err := sourceKey(goTool, writeModule(t, tt.a))
			require.NoError(t, err)
			kb, err := sourceKey(goTool, writeModule(t, tt.b))
			require.NoError(t, err)
			require.Equal(t, tt.sameKey, ka == kb)
		})
	}
}

// TestBuildOutlivesItsTestBinary: a first build whose test binary exits
// before it finishes (go test's timeout panic cut the test) installs its
// binary anyway and holds the build lock until then, so the next run waits
// for it and uses it instead of starting a second build beside the first.
func TestBuildOutlivesItsTestBinary(t *testing.T) {
	if src, bin := os.Getenv("KUBETEST_ABANDON_SRC"), os.Getenv("KUBETEST_ABANDON_BIN"); src != "" {
		// The test binary that gives up: it starts the build under the
		// lock, as buildCached does, and exits while it runs.
		goTool, err := exec.LookPath("go")
		require.NoError(t, err)
		lock, _, err := lockFile(bin + ".lock")
		require.NoError(t, err)
		go func() { _ = goBuild(goTool, src, bin, lock) }()
		time.Sleep(50 * time.Millisecond)
		os.Exit(0)
	}
	if _, err := exec.LookPath("sh"); err != nil || runtime.GOOS == "windows" {
		t.Skip("needs a POSIX shell and flock")
	}
	src := writeModule(t, "package main\n\nfunc main() {}\n")
	bin := filepath.Join(t.TempDir(), "tool")
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildOutlivesItsTestBinary$")
	cmd.Env = append(os.Environ(), "KUBETEST_ABANDON_SRC="+src, "KUBETEST_ABANDON_BIN="+bin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	_, unlock, err := lockFile(bin + ".lock") // the next run: waits for the abandoned build
	require.NoError(t, err)
	defer unlock()
	require.FileExists(t, bin, "the abandoned build installed its binary before it let the lock go")
	require.NoError(t, exec.Command(bin).Run())
	left, _ := filepath.Glob(bin + ".*")
	require.Equal(t, []string{bin + ".lock"}, left, "no temporary binary or build log is left behind")
}
