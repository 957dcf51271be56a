package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const stepScenario = "../../internal/demo/testdata/step.yaml"

// TestDemoJSONOnStdoutOnly: demo --json → stdout is exactly one JSON
// document with the summary's fields; the progress went to stderr; the
// report was written.
func TestDemoJSONOnStdoutOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	report := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"demo", "--scenario", stepScenario, "--speed", "100", "--duration", "2m", "--json", "--report", report}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())

	dec := json.NewDecoder(&stdout)
	var sum map[string]any
	require.NoError(t, dec.Decode(&sum), "stdout: %s", stdout.String())
	_, err := dec.Token()
	require.ErrorIs(t, err, io.EOF, "nothing but the summary on stdout")
	for _, key := range []string{"scenario", "rescales", "maxLagSeconds", "sloViolationSeconds", "slotSeconds", "oracleSlotSeconds", "costVsOracle", "decisions", "durationSeconds", "vertices", "taskManagers", "report"} {
		require.Contains(t, sum, key)
	}
	require.Equal(t, "step-test", sum["scenario"])
	require.InDelta(t, 120, sum["durationSeconds"], 1)

	require.Contains(t, stderr.String(), "flinkscaler demo: scenario \"step-test\"")
	require.Contains(t, stderr.String(), "0:02:00")
	info, err := os.Stat(report)
	require.NoError(t, err)
	require.Positive(t, info.Size())
}

func TestDemoBadFlags(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "zero speed", args: []string{"--speed", "0"}, code: 2, want: "--speed: 0: want more than 0"},
		{name: "not a duration", args: []string{"--duration", "ten"}, code: 2, want: `--duration "ten": not a duration; write a number with a unit`},
		{name: "short duration", args: []string{"--duration", "3s"}, code: 2, want: "--duration: 3s: want at least 10s"},
		{name: "address without port", args: []string{"--keda-listen", "localhost"}, code: 2, want: `--keda-listen: "localhost": want host:port`},
		{name: "missing scenario", args: []string{"--scenario", "no-such.yaml"}, code: 1, want: "no-such.yaml"},
		{name: "stray argument", args: []string{"wordcount"}, code: 2, want: `unexpected argument "wordcount"`},
		{name: "port in use", args: []string{"--flink-listen", busy.Addr().String(), "--report", ""}, code: 1, want: "--flink-listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, append([]string{"demo"}, tt.args...), &stdout, &stderr)
			require.Equal(t, tt.code, code, stderr.String())
			require.Contains(t, stderr.String(), tt.want)
		})
	}
}
