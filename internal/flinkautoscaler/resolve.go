// Package flinkautoscaler resolves and runs the Flink Kubernetes operator's
// autoscaler, unchanged, in its own JVM against one Flink JobManager, and
// observes what it decides. It is the peer `flinkscaler compare` measures
// flinkscaler against.
//
// # What runs
//
// Resolve asks Maven (the `mvn` client, Maven Central) for the released
// org.apache.flink:flink-autoscaler-standalone:<version> jar and runs it as
// shipped (its StandaloneAutoscalerEntrypoint). When Maven Central has no
// such jar but has the released org.apache.flink:flink-autoscaler:<version>
// library (the algorithm: metric collection, evaluation, scaling executor),
// Resolve builds its classpath (the library first, then the Flink client it
// was built against) and a small driver of ours that does what the
// standalone entrypoint documents: list the cluster's jobs every control-loop
// interval, overlay each job's JobManager configuration, run the library's
// JobAutoScalerImpl, apply parallelism overrides with
// PUT /jobs/:jobid/resource-requirements. Artifact.Kind says which one runs.
// Both are configured only through the autoscaler's documented options
// (`--key value`).
//
// # Observing it
//
// The autoscaler talks to the JobManager through a recording reverse proxy:
// every resource-requirements PUT it sends is a Rescale, with the targets
// per vertex and the JobManager's answer. Its log is captured line by line;
// scaling reports and errors are counted from it.
//
// Everything is cached under the user cache directory
// (flinkscaler/flink-autoscaler/<version>), so only the first run needs
// Maven Central.
package flinkautoscaler

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// DefaultVersion is the newest operator release whose autoscaler resolves
// from Maven Central as reachable from here and runs on Java 17 (see
// docs/BENCHMARK.md "The real operator autoscaler").
const DefaultVersion = "1.10.0"

// Errors of Resolve and Start.
var (
	// ErrVersionMissing: Maven Central has neither the standalone jar nor
	// the library in that version.
	ErrVersionMissing = errors.New("flink autoscaler version not found on Maven Central")
	// ErrMavenUnreachable: Maven could not reach its repository.
	ErrMavenUnreachable = errors.New("maven central unreachable")
	// ErrTooling: mvn, java or javac is missing or failed.
	ErrTooling = errors.New("java tooling")
)

// Kinds of Artifact.
const (
	// KindStandalone is the released flink-autoscaler-standalone jar.
	KindStandalone = "standalone"
	// KindLibrary is the released flink-autoscaler library run by
	// flinkscaler's driver.
	KindLibrary = "library"
)

// Artifact is a resolved autoscaler, ready to run.
type Artifact struct {
	Version   string
	Kind      string
	Classpath []string // jars and class directories, in order
	MainClass string
	// FlinkClient is the Flink version of the REST client it runs with.
	FlinkClient string
	// Describe says in one line what runs, for reports.
	Describe string
}

const (
	standaloneMain = "org.apache.flink.autoscaler.standalone.StandaloneAutoscalerEntrypoint"
	driverMain     = "flinkscaler.peer.FlinkscalerAutoscalerDriver"
)

// flinkClients is the Flink version each operator release builds its
// autoscaler against (its pom's flink.version).
var flinkClients = map[string]string{
	"1.7.0": "1.17.1", "1.8.0": "1.18.1", "1.9.0": "1.18.1", "1.10.0": "1.19.1",
	"1.11.0": "1.20.1", "1.12.0": "1.20.1", "1.12.1": "1.20.1", "1.13.0": "1.20.1",
	"1.14.0": "1.20.1", "1.15.0": "1.20.1",
}

//go:embed driver/FlinkscalerAutoscalerDriver.java
var driverSource []byte

// log4j configuration for the autoscaler's JVM: one line per event, with
// the time, level and logger, on stdout.
const log4jProperties = `rootLogger.level = INFO
rootLogger.appenderRef.console.ref = Console
appender.console.name = Console
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %-5level %c{1} - %msg%n%throwable
`

var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// CacheDir is where Resolve keeps version's files.
func CacheDir(version string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: no user cache directory: %w", ErrTooling, err)
	}
	return filepath.Join(base, "flinkscaler", "flink-autoscaler", version), nil
}

// Resolve returns the autoscaler of an operator release, downloading it
// with Maven on first use; progress receives one line per step (nil
// discards them).
func Resolve(ctx context.Context, version string, progress io.Writer) (*Artifact, error) {
	if progress == nil {
		progress = io.Discard
	}
	if !versionPattern.MatchString(version) {
		return nil, fmt.Errorf("%w: %q is not an operator release version (want X.Y.Z, e.g. %s)", ErrVersionMissing, version, DefaultVersion)
	}
	dir, err := CacheDir(version)
	if err != nil {
		return nil, err
	}
	if a, ok := cached(dir, version); ok {
		return a, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooling, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log4j2.properties"), []byte(log4jProperties), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooling, err)
	}
	fmt.Fprintf(progress, "resolving org.apache.flink:flink-autoscaler-standalone:%s from Maven Central\n", version)
	jar, err := copyStandalone(ctx, dir, version)
	switch {
	case err == nil:
		return finish(dir, standaloneArtifact(version, jar))
	case !errors.Is(err, ErrVersionMissing):
		return nil, err
	}
	client, known := flinkClients[version]
	if !known {
		return nil, fmt.Errorf("%w: flink-autoscaler-standalone:%s is not on Maven Central, and flinkscaler does not know which Flink client release %s was built against (known: 1.7.0 … 1.15.0)", ErrVersionMissing, version, version)
	}
	fmt.Fprintf(progress, "  not on Maven Central; resolving the released library org.apache.flink:flink-autoscaler:%s with the Flink %s client\n", version, client)
	lib, err := copyLibrary(ctx, dir, version, client)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "  compiling flinkscaler's driver for the library (javac)\n")
	classes, err := compileDriver(ctx, dir, lib)
	if err != nil {
		return nil, err
	}
	return finish(dir, &Artifact{
		Version: version, Kind: KindLibrary, Classpath: append(lib, classes), MainClass: driverMain,
		FlinkClient: client,
		Describe: fmt.Sprintf("released org.apache.flink:flink-autoscaler:%s (Flink %s client) run by flinkscaler's driver; flink-autoscaler-standalone:%s is not on Maven Central",
			version, client, version),
	})
}

func standaloneArtifact(version, jar string) *Artifact {
	return &Artifact{
		Version: version, Kind: KindStandalone, Classpath: []string{jar}, MainClass: standaloneMain,
		FlinkClient: flinkClients[version],
		Describe:    fmt.Sprintf("released org.apache.flink:flink-autoscaler-standalone:%s, unchanged", version),
	}
}

// mavenArgs come before every mvn invocation's own (tests point Maven at
// an unreachable mirror with them).
var mavenArgs []string

// runMaven runs mvn in dir and classifies its failure.
func runMaven(ctx context.Context, dir string, args ...string) error {
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return fmt.Errorf("%w: mvn (Maven 3) is not on PATH: it downloads the autoscaler from Maven Central", ErrTooling)
	}
	cmd := exec.CommandContext(ctx, mvn, slices.Concat([]string{"-B", "-q"}, mavenArgs, args)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		text := out.String()
		switch {
		case strings.Contains(text, "Could not find artifact") || strings.Contains(text, "was not found in"):
			return fmt.Errorf("%w: %s", ErrVersionMissing, mavenError(text))
		case strings.Contains(text, "Could not transfer") || strings.Contains(text, "UnknownHost") ||
			strings.Contains(text, "Connection refused") || strings.Contains(text, "timed out") ||
			strings.Contains(text, "Network is unreachable"):
			return fmt.Errorf("%w: %s", ErrMavenUnreachable, mavenError(text))
		}
		return fmt.Errorf("%w: mvn %s: %v: %s", ErrTooling, strings.Join(args, " "), err, mavenError(text))
	}
	return nil
}

// mavenError is the first [ERROR] line of Maven's output, without colours.
func mavenError(out string) string {
	out = regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "[ERROR]") {
			return strings.TrimSpace(strings.TrimPrefix(line, "[ERROR]"))
		}
	}
	return strings.TrimSpace(out)
}

func copyStandalone(ctx context.Context, dir, version string) (string, error) {
	out := filepath.Join(dir, "standalone")
	err := runMaven(ctx, dir, "-U", "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
		"-Dartifact=org.apache.flink:flink-autoscaler-standalone:"+version, "-DoutputDirectory="+out)
	if err != nil {
		return "", err
	}
	return filepath.Join(out, "flink-autoscaler-standalone-"+version+".jar"), nil
}

// classpathPom lists the library, the Flink client it was built against
// (provided scope in its own pom) and a log4j binding.
const classpathPom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.flinkscaler.peer</groupId>
  <artifactId>flink-autoscaler-classpath</artifactId>
  <version>%[1]s</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.flink</groupId><artifactId>flink-autoscaler</artifactId><version>%[1]s</version></dependency>
    <dependency><groupId>org.apache.flink</groupId><artifactId>flink-clients</artifactId><version>%[2]s</version></dependency>
    <dependency><groupId>org.apache.flink</groupId><artifactId>flink-runtime</artifactId><version>%[2]s</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.17.1</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.17.1</version></dependency>
  </dependencies>
</project>
`

// copyLibrary downloads the library's runtime classpath into dir/lib and
// returns it with the library first: it carries copies of Flink REST
// classes that must shadow the Flink client's.
func copyLibrary(ctx context.Context, dir, version, client string) ([]string, error) {
	if err := os.WriteFile(filepath.Join(dir, "pom.xml"), fmt.Appendf(nil, classpathPom, version, client), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooling, err)
	}
	lib := filepath.Join(dir, "lib")
	if err := os.RemoveAll(lib); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooling, err)
	}
	if err := runMaven(ctx, dir, "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
		"-DoutputDirectory="+lib, "-DincludeScope=runtime"); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(lib)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooling, err)
	}
	first := "flink-autoscaler-" + version + ".jar"
	cp := []string{filepath.Join(lib, first)}
	found := false
	for _, e := range entries {
		switch name := e.Name(); {
		case name == first:
			found = true
		case strings.HasSuffix(name, ".jar"):
			cp = append(cp, filepath.Join(lib, name))
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: maven did not fetch %s", ErrVersionMissing, first)
	}
	return cp, nil
}

func compileDriver(ctx context.Context, dir string, classpath []string) (string, error) {
	javac, err := javaTool("javac")
	if err != nil {
		return "", err
	}
	src := filepath.Join(dir, "driver", "FlinkscalerAutoscalerDriver.java")
	classes := filepath.Join(dir, "classes")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrTooling, err)
	}
	if err := os.WriteFile(src, driverSource, 0o644); err != nil {
		return "", fmt.Errorf("%w: %w", ErrTooling, err)
	}
	_ = os.RemoveAll(classes) // rebuilt whole; a missing directory is fine
	cmd := exec.CommandContext(ctx, javac, "-nowarn", "-encoding", "UTF-8", "-cp", strings.Join(classpath, string(os.PathListSeparator)), "-d", classes, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: javac: the driver does not compile against this release's library: %v\n%s", ErrTooling, err, lastLines(string(out), 10))
	}
	return classes, nil
}

// javaTool finds java or javac: $JAVA_HOME/bin first, then PATH.
func javaTool(name string) (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s (a JDK 17) is not on PATH nor in $JAVA_HOME/bin", ErrTooling, name)
	}
	return p, nil
}

// The cache: dir/artifact holds kind, main class, client and classpath,
// one per line, written last.
func finish(dir string, a *Artifact) (*Artifact, error) {
	lines := append([]string{a.Kind, a.MainClass, a.FlinkClient, a.Describe}, a.Classpath...)
	if err := os.WriteFile(filepath.Join(dir, "artifact"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooling, err)
	}
	return a, nil
}

func cached(dir, version string) (*Artifact, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "artifact"))
	if err != nil {
		return nil, false
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) < 5 {
		return nil, false
	}
	a := &Artifact{Version: version, Kind: lines[0], MainClass: lines[1], FlinkClient: lines[2], Describe: lines[3], Classpath: lines[4:]}
	for _, p := range a.Classpath {
		if _, err := os.Stat(p); err != nil {
			return nil, false
		}
	}
	return a, true
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
