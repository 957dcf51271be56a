package kubetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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
	err = goBuild(goTool, src, bin)
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
