package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/syncbuf"
	"github.com/flinkscaler/flinkscaler/internal/testport"
)

// TestScenariosDocCommands runs the two commands docs/scenarios.md opens
// with, as written, from the repository's root: sim serves the scenario as a
// Flink REST API (its default address moved to a port of the test's own
// through FLINKSCALER_LISTEN, as TestReadmeChainByHand moves the README's
// fixed addresses), and bench --quick scores every policy on it (not under
// -race: .ci/run runs this test in its step without the race detector).
func TestScenariosDocCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("bench --quick runs every policy on a 90-minute scenario (about a minute)")
	}
	t.Chdir("../..")
	blocks := docBlocks(t, "docs/scenarios.md", "")
	require.NotEmpty(t, blocks, "docs/scenarios.md opens with commands")
	cmds := goRun(t, blocks[0])
	require.Len(t, cmds, 2)
	sim, quick := cmds[0], cmds[1]
	require.Equal(t, "sim", sim[0])
	require.Equal(t, "bench", quick[0])

	addr := testport.Addr(t)
	t.Setenv("FLINKSCALER_LISTEN", addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncbuf.Buffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, sim, &out, &out) }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "REST API") {
		select {
		case c := <-code:
			t.Fatalf("%v exited %d before serving: %s", sim, c, out.String())
		case <-deadline:
			t.Fatalf("%v did not serve within 30s: %s", sim, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	resp, err := http.Get("http://" + addr + "/jobs/overview")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `"name":"sessions"`, "the scenario's job is served")
	cancel()
	require.Equal(t, 0, <-code, "%v: %s", sim, out.String())

	if raceDetector {
		t.Skip("bench --quick under -race takes minutes; .ci/run runs this test without -race")
	}
	var scored bytes.Buffer
	require.Equal(t, 0, run(context.Background(), quick, &scored, &scored), "%v: %s", quick, scored.String())
	require.Contains(t, scored.String(), "scenario faults (")
	for _, p := range bench.Policies {
		require.Regexp(t, regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(p)+`\s`), scored.String(), "%v scores %s", quick, p)
	}
}

// TestBenchmarkDocCommands runs docs/BENCHMARK.md's "Reproduce" lines that
// name their scenario file (2 seeds each: the nexmark sweep of ds2, KEDA
// owning the TaskManagers, actuate scaling a Deployment with unmarked pods),
// as written, from the repository's root: each exits 0 and scores every
// policy it names on its scenario. The lines over every shipped scenario
// run the same code on more files and are not run here; each is checked to
// be a bench command, and the go test line to name a test that exists (not
// under -race: .ci/run runs this test in its step without the race
// detector).
func TestBenchmarkDocCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 12 bench runs (about a minute)")
	}
	t.Chdir("../..")
	blocks := docBlocks(t, "docs/BENCHMARK.md", "Reproduce")
	require.NotEmpty(t, blocks, "docs/BENCHMARK.md's Reproduce section has commands")
	var withFile [][]string
	for _, fields := range blocks[0] {
		if fields[0] == "go" && fields[1] == "test" {
			require.Contains(t, fields, "-run", "%q", fields)
			name := fields[slices.Index(fields, "-run")+1]
			files, err := filepath.Glob(filepath.Join(fields[2], "*_test.go"))
			require.NoError(t, err)
			var src []byte
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				src = append(src, b...)
			}
			require.Contains(t, string(src), "func "+name+"(t *testing.T)", "%q names a test that exists", fields)
			continue
		}
		args := goRun(t, [][]string{fields})[0]
		if i := slices.Index(args, ">"); i >= 0 {
			args = args[:i] // the shell's redirection
		}
		require.Equal(t, "bench", args[0], "%q", fields)
		if last := args[len(args)-1]; strings.HasSuffix(last, ".yaml") {
			withFile = append(withFile, args)
		}
	}
	require.Len(t, withFile, 3, "the Reproduce lines that name a scenario")
	if raceDetector {
		t.Skip("bench under -race takes minutes; .ci/run runs this test without -race")
	}
	for _, args := range withFile {
		var out bytes.Buffer
		require.Equal(t, 0, run(context.Background(), args, &out, &out), "%v: %s", args, out.String())
		name := strings.TrimSuffix(filepath.Base(args[len(args)-1]), ".yaml")
		require.Contains(t, out.String(), "scenario "+name+" (", "%v", args)
		policies := args[slices.Index(args, "--policies")+1]
		for p := range strings.SplitSeq(policies, ",") {
			require.Regexp(t, regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(p)+`\s`), out.String(), "%v scores %s", args, p)
		}
	}
}

// TestPolicyDocCommands runs the commands docs/policy.md opens with, as
// written (from a directory of the test's own, as a reader would from the
// repository's root): decide prints the defaults into policy.yaml, reads
// that file back as --policy and prints the same policy, and the policy
// command sets one job's dry run on a NATS server (`flinkscaler nats` on a
// port of the test's own, through FLINKSCALER_NATS_URL as the page says)
// and gets it back. Before session 17 the page wrote the override with the
// nats CLI, which this repository does not ship.
func TestPolicyDocCommands(t *testing.T) {
	t.Chdir("../..")
	blocks := docBlocks(t, "docs/policy.md", "")
	require.NotEmpty(t, blocks, "docs/policy.md opens with commands")
	cmds := goRun(t, blocks[0])
	require.Len(t, cmds, 4)
	t.Chdir(t.TempDir())

	printed := map[string]string{}
	for _, args := range cmds[:2] {
		require.Equal(t, []string{"decide"}, args[:1], "%q", args)
		var redirect string
		if i := slices.Index(args, ">"); i >= 0 {
			args, redirect = args[:i], args[i+1]
		}
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(context.Background(), args, &out, &errOut), "%v: %s", args, errOut.String())
		require.Contains(t, out.String(), "maxStepFactor:", "%v prints the policy", args)
		if redirect != "" {
			require.NoError(t, os.WriteFile(redirect, out.Bytes(), 0o644))
		}
		printed[strings.Join(args, " ")] = out.String()
	}
	require.Len(t, printed, 2)
	var first string
	for _, p := range printed {
		if first == "" {
			first = p
			continue
		}
		require.Equal(t, first, p, "the defaults printed, read back with --policy, print the same")
	}

	addr := testport.Addr(t)
	t.Setenv("FLINKSCALER_NATS_URL", "nats://"+addr)
	ctx, cancel := context.WithCancel(context.Background())
	var natsOut syncbuf.Buffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"nats", "--listen", addr}, &natsOut, &natsOut) }()
	t.Cleanup(func() {
		cancel()
		<-code
	})
	require.Eventually(t, func() bool { return strings.Contains(natsOut.String(), "Press Ctrl-C") },
		30*time.Second, 20*time.Millisecond, "nats: %s", natsOut.String())

	set, get := cmds[2], cmds[3]
	require.Equal(t, "policy", set[0], "%q", set)
	require.Equal(t, "policy", get[0], "%q", get)
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), set, &out, &out), "%v: %s", set, out.String())
	out.Reset()
	require.Equal(t, 0, run(context.Background(), get, &out, &out), "%v: %s", get, out.String())
	require.Contains(t, out.String(), "dryRun: true", "%v shows the override the page set", get)
}
