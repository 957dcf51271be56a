package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/sandbox"
	"github.com/flinkscaler/flinkscaler/internal/syncbuf"
)

// TestSandboxCommand runs `flinkscaler sandbox` as the README does, waits
// for it to print the REST URL and the job id, then stops it as Ctrl-C does.
func TestSandboxCommand(t *testing.T) {
	needRealFlink(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--scenario", "../../scenarios/wordcount.yaml", "--listen", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	deadline := time.After(15 * time.Minute) // the first build downloads Flink from Maven Central
	for !strings.Contains(stdout.String(), "Ctrl-C stops it") {
		select {
		case code := <-done:
			t.Fatalf("sandbox exited with %d:\n%s\n%s", code, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("sandbox not up in 15 minutes:\n%s", stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	out := stdout.String()
	assert.Contains(t, out, "real Flink 1.20.5 (MiniCluster): scenario wordcount (adaptive)")
	assert.Regexp(t, `REST API     http://127\.0\.0\.1:\d+`, out)
	assert.Regexp(t, `job          [0-9a-f]{32} "wordcount"`, out)
	assert.Contains(t, out, "one record stands for 200 scenario records")
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("sandbox did not stop within a minute of Ctrl-C")
	}
	assert.Contains(t, stdout.String(), "sandbox: stopping")
}

// TestDemoOnRealFlink runs the demo on the sandbox for a short while: the
// same summary and report as on the emulator.
func TestDemoOnRealFlink(t *testing.T) {
	needRealFlink(t)
	report := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "--engine", "flink", "--duration", "40s", "--report", report}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "real Flink 1.20.5 at http://127.0.0.1:")
	assert.Contains(t, out, "Summary: finished after")
	assert.Contains(t, out, "slot-seconds")
	info, err := os.Stat(report)
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(1000))
}

// needRealFlink skips a test that runs a real Flink with -short, and where
// java or mvn is not on PATH (the README's Quick start has only Go).
func needRealFlink(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real Flink: skipped with -short")
	}
	if err := sandbox.CheckTools(); err != nil {
		t.Skipf("real Flink: %v", err)
	}
}

func TestDemoEngineFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"demo", "--engine", "spark"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "--engine must be emulator or flink")
	stderr.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"demo", "--engine", "flink", "--speed", "30"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "a real Flink runs in real time")
}
