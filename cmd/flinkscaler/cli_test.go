package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

func TestHelpListsEveryVerb(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"--help"}, &out, &errOut))
	for _, verb := range []string{"demo", "sim", "bench", "nats", "watch", "publish", "ingest", "decide", "actuate"} {
		require.Contains(t, errOut.String(), "  "+verb+" ")
	}
	require.Equal(t, 2, run(context.Background(), []string{"frobnicate"}, &out, &errOut))
	require.Contains(t, errOut.String(), `unknown command "frobnicate"`)
}

// publish's event is stored in the stream and reads in watch as the metric
// it is. The check reads the stored message back after publish's JetStream
// ack (read-your-write) rather than waiting a fixed time for its live
// delivery, which a loaded machine can delay past any such window.
func TestPublishShowsUpInWatch(t *testing.T) {
	env := eventstest.Start(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"publish", "--nats", env.URL, "--cluster", "demo", "--job", "wordcount",
		"--name", "lag", "--value", "1200", "--unit", "records"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "on flinkscaler.metric.demo.wordcount")

	stream, err := env.JS.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	stored, err := stream.GetLastMsgForSubject(t.Context(), "flinkscaler.metric.demo.wordcount")
	require.NoError(t, err, "publish returns after JetStream acknowledged the stored event")
	m := &nats.Msg{Subject: stored.Subject, Header: stored.Header, Data: stored.Data}
	line := watchLine(m, false)
	require.Contains(t, line, "metric")
	require.Contains(t, line, "demo/wordcount")
	require.Contains(t, line, "lag=1200 records")
	require.True(t, strings.HasPrefix(watchLine(m, true), `{"specversion":"1.0"`), watchLine(m, true))
	require.Contains(t, watchLine(&nats.Msg{Subject: "flinkscaler.x", Data: []byte("junk")}, false), "not decodable")
}

func TestPublishRejectsBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"publish", "--nats", "nats://127.0.0.1:1", "--cluster", "a.b", "--job", "j",
		"--name", "lag", "--value", "Inf"}, &out, &errOut)
	require.Equal(t, 1, code)
	require.Contains(t, errOut.String(), `--cluster "a.b"`)
	require.Contains(t, errOut.String(), `--value "Inf"`)

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "lag", "--value", "-5"}, "want a backlog from 0 to"},
		{[]string{"--name", "la g", "--value", "1"}, "decide uses lag and pendingRecords"},
		{[]string{"--name", "lag", "--value", "1", "--unit", "ms/s"}, `unit "ms/s"`},
	} {
		errOut.Reset()
		args := append([]string{"publish", "--nats", "nats://127.0.0.1:1", "--cluster", "demo", "--job", "j"}, tt.args...)
		require.Equal(t, 1, run(context.Background(), args, &out, &errOut), "%v", tt.args)
		require.Contains(t, errOut.String(), tt.want)
	}
}

// decide --print-policy prints the defaults as YAML that --policy reads
// back; a field changed in the file shows in the next print, and an invalid
// one is reported with its path.
func TestDecidePrintPolicy(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"decide", "--print-policy"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "minInterval: 1m0s")
	require.Contains(t, out.String(), "scaleDownWindow: 5m0s")

	file := filepath.Join(t.TempDir(), "policy.yaml")
	changed := strings.Replace(out.String(), "scaleDownWindow: 5m0s", "scaleDownWindow: 2m0s", 1)
	require.NoError(t, os.WriteFile(file, []byte(changed), 0o600))
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"decide", "--policy", file, "--print-policy"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "scaleDownWindow: 2m0s")
	require.Equal(t, changed, out.String())

	require.NoError(t, os.WriteFile(file, []byte("minInterval: -1s\n"), 0o600))
	errOut.Reset()
	require.Equal(t, 1, run(context.Background(), []string{"decide", "--policy", file, "--print-policy"}, &out, &errOut))
	require.Contains(t, errOut.String(), "minInterval")
}

// TestEveryCommandsHelp: each command's --help exits 0 with its usage
// line and lists its flags, each as --name and at most one placeholder
// word (a flag's usage text in backquotes would become its placeholder).
func TestEveryCommandsHelp(t *testing.T) {
	flagLine := regexp.MustCompile(`^  --?[a-z][a-z0-9-]*( \S+)?$`)
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, 0, run(context.Background(), []string{c.name, "--help"}, &out, &errOut), errOut.String())
			help := errOut.String() + out.String()
			require.True(t, strings.HasPrefix(help, "Usage: flinkscaler "+c.name), help)
			require.Contains(t, help, "\nFlags:")
			for _, line := range strings.Split(help, "\n") {
				if strings.HasPrefix(line, "  -") {
					require.Regexp(t, flagLine, line, "a flag and at most one placeholder word")
				}
			}
		})
	}
}
