package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	jvmsrc "github.com/flinkscaler/flinkscaler/sandbox"
)

// Flink lines the sandbox builds for, by the --flink value that selects
// them.
var flinkProfiles = map[string]struct {
	version string // the Flink release the Maven module pins
	profile string // Maven profile, "" for the default build
}{
	"1.20": {version: "1.20.5"},
	"2":    {version: "2.3.0", profile: "flink2"},
}

// FlinkVersions lists the accepted Config.Flink values.
const FlinkVersions = `"1.20" or "2"`

// ErrMissingTool is wrapped by the error BuildJar and Start return when java
// or mvn is not on PATH.
var ErrMissingTool = errors.New("missing tool")

// buildTimeout bounds a jar build whose context has no deadline: the first
// build downloads Flink (~80 MB) from Maven Central.
const buildTimeout = 15 * time.Minute

var buildMu sync.Mutex // one build at a time in this process

// BuildJar returns the path of the sandbox's runnable jar for a Flink line
// ("1.20" or "2"), building it with Maven on first use. Jars are cached under
// the user cache directory, keyed by a hash of the module's sources and the
// Flink version, so a changed module rebuilds. progress (nil = discard)
// gets Maven's output while building.
func BuildJar(ctx context.Context, flink string, progress io.Writer) (string, error) {
	prof, ok := flinkProfiles[flinkOrDefault(flink)]
	if !ok {
		return "", fmt.Errorf("sandbox: unknown Flink version %q (want %s)", flink, FlinkVersions)
	}
	if progress == nil {
		progress = io.Discard
	}
	key, err := sourcesKey(prof.version)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("sandbox: no cache directory for the jar: %w (set $XDG_CACHE_HOME or $HOME)", err)
	}
	dir := filepath.Join(cache, "flinkscaler", "sandbox", key)
	jar := filepath.Join(dir, "flinkscaler-sandbox-"+prof.version+".jar")
	if _, err := os.Stat(jar); err == nil {
		return jar, nil
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(jar); err == nil {
		return jar, nil
	}
	if err := lookTools("java", "mvn"); err != nil {
		return "", err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, buildTimeout)
		defer cancel()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	defer os.RemoveAll(work)
	if err := writeSources(work); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "sandbox: building the Flink %s jar with Maven (the first build downloads Flink from Maven Central, ~80 MB; later runs use %s)\n", prof.version, dir)
	args := []string{"-B", "--no-transfer-progress", "package"}
	if prof.profile != "" {
		args = append(args, "-P"+prof.profile)
	}
	cmd := exec.CommandContext(ctx, "mvn", args...)
	cmd.Dir = work
	cmd.WaitDelay = 5 * time.Second
	tail := &tailWriter{max: 40}
	out := io.MultiWriter(tail, progress)
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", buildError(ctx, err, tail.String(), time.Since(start))
	}
	built := filepath.Join(work, "target", "flinkscaler-sandbox.jar")
	if err := os.Rename(built, jar); err != nil {
		return "", fmt.Errorf("sandbox: Maven succeeded but %s is missing: %w", built, err)
	}
	fmt.Fprintf(progress, "sandbox: built %s in %s\n", jar, time.Since(start).Round(time.Second))
	return jar, nil
}

func flinkOrDefault(flink string) string {
	if flink == "" {
		return "1.20"
	}
	return flink
}

// CheckTools reports, wrapping ErrMissingTool, when java or mvn is not on
// PATH: what BuildJar (mvn, for the first build) and Start (java) need. The
// real-Flink tests skip on it, so `go test ./...` on a machine with only Go
// (the README's Quick start) skips them instead of failing.
func CheckTools() error {
	return lookTools("java", "mvn")
}

func lookTools(names ...string) error {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			hint := "install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)"
			if n == "mvn" {
				hint = "install Maven 3.8 or newer (Debian: apt-get install maven)"
			}
			return fmt.Errorf("sandbox: %s not found on PATH: %s: %w", n, hint, ErrMissingTool)
		}
	}
	return nil
}

func buildError(ctx context.Context, err error, tail string, took time.Duration) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("sandbox: building the jar did not finish in %s (the first build downloads Flink from Maven Central; retry with a longer timeout or a faster network): %w\n%s", took.Round(time.Second), ctx.Err(), tail)
	case strings.Contains(tail, "Could not transfer") || strings.Contains(tail, "Could not resolve") ||
		strings.Contains(tail, "UnknownHost") || strings.Contains(tail, "Connection refused") ||
		strings.Contains(tail, "Network is unreachable"):
		return fmt.Errorf("sandbox: Maven could not download from Maven Central (https://repo.maven.apache.org): check the network, a proxy in ~/.m2/settings.xml, or prefill ~/.m2: %w\n%s", err, tail)
	}
	return fmt.Errorf("sandbox: mvn package failed: %w\n%s", err, tail)
}

// sourcesKey hashes the embedded module and the Flink version.
func sourcesKey(version string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "flink %s\n", version)
	err := fs.WalkDir(jvmsrc.Sources, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := jvmsrc.Sources.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("sandbox: hash the module sources: %w", err)
	}
	return "flink-" + version + "-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

func writeSources(dir string) error {
	return fs.WalkDir(jvmsrc.Sources, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := jvmsrc.Sources.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// tailWriter keeps the last max lines written to it (for error messages).
type tailWriter struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string // an unfinished last line
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	parts := strings.Split(t.part+string(p), "\n")
	t.part = parts[len(parts)-1]
	t.lines = append(t.lines, parts[:len(parts)-1]...)
	if len(t.lines) > t.max {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := slices.Clone(t.lines)
	if t.part != "" {
		lines = append(lines, t.part)
	}
	return strings.Join(lines, "\n")
}
