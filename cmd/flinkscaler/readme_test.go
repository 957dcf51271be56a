package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/flinkscaler/flinkscaler/internal/syncbuf"
	"github.com/flinkscaler/flinkscaler/internal/testport"
)

// readmeBlocks returns the commands of the ```sh blocks under the README
// heading, one []string of words per line, comments removed.
func readmeBlocks(t *testing.T, heading string) [][][]string {
	t.Helper()
	return docBlocks(t, "README.md", heading)
}

// docBlocks returns the commands of the ```sh blocks under the "## heading"
// of the Markdown file doc (heading "": before the first "## "), one
// []string of words per line, comments removed.
func docBlocks(t *testing.T, doc, heading string) [][][]string {
	t.Helper()
	raw, err := os.ReadFile(doc)
	require.NoError(t, err)
	section := string(raw)
	if heading != "" {
		start := strings.Index(section, "\n## "+heading+"\n")
		require.GreaterOrEqual(t, start, 0, "%s has no section %q", doc, heading)
		section = section[start+1:]
		if end := strings.Index(section[3:], "\n## "); end >= 0 {
			section = section[:end+3]
		}
	} else if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks [][][]string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		var block [][]string
		for line := range strings.SplitSeq(m[1], "\n") {
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			block = append(block, fields)
		}
		blocks = append(blocks, block)
	}
	return blocks
}

// goRun checks that every command is "go run ./cmd/flinkscaler ARGS" and
// returns the ARGS of each.
func goRun(t *testing.T, block [][]string) [][]string {
	t.Helper()
	var out [][]string
	for _, fields := range block {
		require.Equal(t, []string{"go", "run", "./cmd/flinkscaler"}, fields[:3], "README command %q", fields)
		out = append(out, fields[3:])
	}
	return out
}

// TestReadmeChainByHand runs the README's "Try the pieces by hand" chain as
// written, each command in this process in the README's order, and
// expects watch to show snapshots, decisions and results, and then the
// README's publish example as a metric. The one change: the fixed
// addresses the README names (NATS, the emulator) move to ports testport
// holds for the test, and the functions' default HTTP ports to ports of
// their own (127.0.0.1:0), so the test runs beside anything on a shared
// machine, this test in another checkout included (a default port found
// free could be taken before the function binds it).
func TestReadmeChainByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the emulated job for about a minute")
	}
	t.Chdir("../..") // the README's commands run from the repository's root
	blocks := readmeBlocks(t, "Try the pieces by hand")
	require.GreaterOrEqual(t, len(blocks), 2)
	chain, publish := goRun(t, blocks[0]), goRun(t, blocks[1])
	require.Len(t, chain, 6)

	moved := map[string]string{}
	addrRE := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	remap := func(args []string) []string {
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = addrRE.ReplaceAllStringFunc(a, func(addr string) string {
				if _, ok := moved[addr]; !ok {
					moved[addr] = testport.Addr(t)
				}
				return moved[addr]
			})
		}
		return out
	}
	natsAddr := remap([]string{"127.0.0.1:4222"})[0]
	t.Setenv("FLINKSCALER_NATS_URL", "nats://"+natsAddr) // the default the README relies on, moved
	t.Setenv("FLINKSCALER_HTTP_LISTEN", "127.0.0.1:0")   // not the defaults: see above

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	outs := make([]*syncbuf.Buffer, len(chain))
	codes := make([]int, len(chain))
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for i, args := range chain {
		args = remap(args)
		outs[i] = &syncbuf.Buffer{}
		wg.Go(func() { codes[i] = run(ctx, args, outs[i], outs[i]) })
		if i < 2 { // nats, then the emulator: wait until they listen
			want := map[int]string{0: "Press Ctrl-C", 1: "REST API"}[i]
			require.Eventually(t, func() bool { return strings.Contains(outs[i].String(), want) },
				30*time.Second, 20*time.Millisecond, "%v: %s", args, outs[i].String())
		}
	}
	watch := outs[5]
	seen := func(kind string) func() bool {
		return func() bool { return regexp.MustCompile(`(?m)^\S+ ` + kind + ` `).MatchString(watch.String()) }
	}
	report := func() string {
		var b strings.Builder
		for i, o := range outs {
			b.WriteString(strings.Join(chain[i], " ") + ":\n" + o.String() + "\n")
		}
		return b.String()
	}
	require.Eventually(t, seen("snapshot"), 30*time.Second, 50*time.Millisecond, report)
	require.Eventually(t, seen("decision"), 90*time.Second, 100*time.Millisecond, report)
	require.Eventually(t, seen("result"), 90*time.Second, 100*time.Millisecond, report)
	require.Eventually(t, seen(`result\s+\S+\s+applied`), 90*time.Second, 100*time.Millisecond, report)

	for _, args := range publish {
		var out bytes.Buffer
		require.Equal(t, 0, run(ctx, remap(args), &out, &out), out.String())
	}
	require.Eventually(t, seen("metric"), 10*time.Second, 50*time.Millisecond, report)
	for i, o := range outs[2:5] {
		require.NotContains(t, o.String(), "level=ERROR", "%v", chain[i+2])
	}
	cancel()
	wg.Wait()
	for i, code := range codes {
		require.Equal(t, 0, code, "%v exited %d:\n%s", chain[i], code, outs[i].String())
	}
}

// TestReadmePolicyCommands runs the README's `flinkscaler policy` block as
// written (flinkscaler being this binary) against a NATS server with the
// stream and buckets provisioned, as `flinkscaler nats` makes them, from a
// directory holding the my-overrides.yaml it names: every command succeeds,
// and get shows what set stored.
func TestReadmePolicyCommands(t *testing.T) {
	t.Chdir("../..")
	var block [][]string
	for _, b := range readmeBlocks(t, "Try the pieces by hand") {
		if len(b) > 0 && b[0][0] == "flinkscaler" && b[0][1] == "policy" {
			block = b
		}
	}
	require.NotEmpty(t, block, "README shows the policy commands")
	env := eventstest.Start(t)
	t.Setenv("FLINKSCALER_NATS_URL", env.URL)
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile("my-overrides.yaml", []byte("slo:\n  maxLag: 2m0s\n"), 0o600))
	for _, fields := range block {
		require.Equal(t, "flinkscaler", fields[0], "README command %q", fields)
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(context.Background(), fields[1:], &out, &errOut), "%q: %s", fields, errOut.String())
		if len(fields) > 2 && slices.Equal(fields[1:3], []string{"policy", "get"}) {
			require.Contains(t, out.String(), "maxLag: 2m0s", "get shows what set stored")
		}
	}
}

// TestReadmeInstallsTheBinaryItRuns: the README's commands written
// `flinkscaler …` need the binary on the PATH, and its Quick start installs
// it. The test runs that line as written (GOBIN a temporary directory, so
// nothing of the machine's changes), then the installed binary's version
// and help.
func TestReadmeInstallsTheBinaryItRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Chdir("../..")
	install := readmeLine(t, "Quick start", "go", "install")
	require.Equal(t, []string{"go", "install", "./cmd/flinkscaler"}, install,
		"Quick start installs the binary the README's `flinkscaler …` commands run")
	bin := t.TempDir()
	cmd := exec.Command(install[0], install[1:]...)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%q: %s", install, out)
	for _, args := range [][]string{{"version"}, {"--help"}} {
		out, err := exec.Command(filepath.Join(bin, "flinkscaler"), args...).CombinedOutput()
		require.NoError(t, err, "flinkscaler %q: %s", args, out)
		require.Contains(t, string(out), "flinkscaler", "flinkscaler %q", args)
	}
}

// TestReadmeNamesEveryCommand: the README's layout table lists every
// command of the binary (commands(), what --help shows), in that order.
func TestReadmeNamesEveryCommand(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `cmd/flinkscaler` \\|(.*)\\|$").FindStringSubmatch(string(raw))
	require.NotNil(t, row, "README's layout table has a cmd/flinkscaler row")
	var named, want []string
	for _, m := range regexp.MustCompile("`([a-z]+)`").FindAllStringSubmatch(row[1], -1) {
		named = append(named, m[1])
	}
	for _, c := range commands() {
		want = append(want, c.name)
	}
	require.Equal(t, want, named, "README's cmd/flinkscaler row")
}

// TestReadmeDemoFlags: the README's table of the demo's flags (Quick start)
// names every flag `flinkscaler demo --help` lists, and no other.
func TestReadmeDemoFlags(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	section := string(raw)
	start := strings.Index(section, "\n## Quick start\n")
	require.GreaterOrEqual(t, start, 0, "README has a Quick start section")
	section = section[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var named []string
	for _, m := range regexp.MustCompile("(?m)^\\| `--([a-z-]+)[ `]").FindAllStringSubmatch(section, -1) {
		named = append(named, m[1])
	}
	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"demo", "--help"}, &stdout, &stderr)
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(stdout.String()+stderr.String(), -1) {
		listed = append(listed, m[1])
	}
	require.NotEmpty(t, listed, "demo --help lists its flags: %s%s", stdout.String(), stderr.String())
	slices.Sort(named)
	slices.Sort(listed)
	require.Equal(t, listed, named, "README's demo flag table against demo --help")
}

// TestReadmeTaskList runs the README's Development line `go tool task
// --list` as written, from the repository's root: the task runner (a tool
// dependency in go.mod) lists every task the README names after it.
func TestReadmeTaskList(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the task runner")
	}
	t.Chdir("../..")
	list := readmeLine(t, "Development", "go", "tool", "task")
	require.Equal(t, []string{"go", "tool", "task", "--list"}, list, "README's Development block lists the tasks")
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	named := regexp.MustCompile("an installed `task`: ([a-z, ]+)").FindStringSubmatch(string(raw))
	require.NotNil(t, named, "README names the tasks after `go tool task --list`")
	out, err := exec.Command(list[0], list[1:]...).CombinedOutput()
	require.NoError(t, err, "%q: %s", list, out)
	for name := range strings.SplitSeq(named[1], ", ") {
		require.Regexp(t, regexp.MustCompile(`(?m)^\* `+regexp.QuoteMeta(strings.TrimSpace(name))+`:`), string(out), "%q lists %s", list, name)
	}
}

// readmeLine is the last command line of the README's section (its code
// blocks, as readmeBlocks splits them) whose first words are prefix; nil
// when there is none.
func readmeLine(t *testing.T, section string, prefix ...string) []string {
	t.Helper()
	var line []string
	for _, block := range readmeBlocks(t, section) {
		for _, fields := range block {
			if len(fields) >= len(prefix) && slices.Equal(fields[:len(prefix)], prefix) {
				line = fields
			}
		}
	}
	return line
}
