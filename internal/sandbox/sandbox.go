// Package sandbox runs a real Apache Flink (a MiniCluster in one JVM) with a
// scenario's job, behind the same base URL as the emulator: Flink's own REST
// API, plus the emulator's control endpoints (TaskManagers, ground truth)
// under flinksim.ControlPrefix, so every client of the emulator works
// against real Flink unchanged.
//
// The JVM's job is built from the scenario (internal/flinksim's format):
// a FLIP-27 source per source vertex with the scenario's partitions, an
// offered rate following the load pattern by wall clock, Kafka's
// pendingRecords metric and the backlog in split state; every vertex with
// its per-record cost paid by sleeping, its selectivity, keyed exchange,
// max parallelism and slot-sharing group.
package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Config configures Start.
type Config struct {
	Scenario string // path of a scenario YAML (internal/flinksim format)
	// Loaded, when set, is the scenario already parsed (Scenario unused).
	Loaded *flinksim.Scenario
	Listen string    // REST address; "127.0.0.1:0" (the default) = a free port
	Flink  string    // "1.20" (default) or "2"
	Log    io.Writer // the JVM's output (nil = discard)
	// Progress gets the jar build's output (nil = discard).
	Progress io.Writer
	// RecordScale is how many scenario records one sandbox record stands
	// for; 0 picks one so the scenario's peak fits DefaultRecordBudget.
	RecordScale float64
	// FlinkConfig entries override the sandbox's Flink configuration.
	FlinkConfig map[string]string
	// StartTimeout bounds the JVM's start until the job is RUNNING
	// (default 3 minutes; the jar build has its own bound).
	StartTimeout time.Duration
}

// Sandbox is a running sandbox JVM and the HTTP front that serves it.
type Sandbox struct {
	url, jobID, version string
	scale               float64
	sc                  *flinksim.Scenario

	cmd   *exec.Cmd
	stdin io.WriteCloser
	srv   *http.Server
	log   *tailWriter
	tmp   string

	done     chan struct{}
	mu       sync.Mutex
	err      error
	stopping bool
}

// ready is the JVM's one stdout line once the job is submitted.
type ready struct {
	Rest         string `json:"rest"`
	Control      string `json:"control"`
	JobID        string `json:"jobId"`
	FlinkVersion string `json:"flinkVersion"`
}

// Start builds the jar on first use, starts the JVM and returns once the REST
// API answers and the job is RUNNING. It fails with a clear error when java
// or mvn is missing, Maven Central is unreachable, the address is in use,
// the scenario cannot run on the sandbox or the JVM dies while starting.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	sc := cfg.Loaded
	if sc == nil {
		var err error
		if sc, err = flinksim.LoadScenario(cfg.Scenario); err != nil {
			return nil, err
		}
	}
	if err := checkExpressible(sc); err != nil {
		return nil, err
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 3 * time.Minute
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen on %s: %w (is another Flink, emulator or sandbox using it? pick another address)", cfg.Listen, err)
	}
	jar, err := BuildJar(ctx, cfg.Flink, cfg.Progress)
	if err != nil {
		ln.Close()
		return nil, err
	}
	scale := cfg.RecordScale
	if scale <= 0 {
		scale = RecordScale(sc, DefaultRecordBudget)
	}
	s := &Sandbox{sc: sc, scale: scale, log: &tailWriter{max: 60}, done: make(chan struct{})}
	if err := s.startJVM(ctx, cfg, jar, buildSpec(sc, scale), ln); err != nil {
		ln.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sandbox) startJVM(ctx context.Context, cfg Config, jar string, sp spec, ln net.Listener) error {
	for k, v := range cfg.FlinkConfig {
		sp.FlinkConfig[k] = v
	}
	tmp, err := os.MkdirTemp("", "flinkscaler-sandbox-")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	s.tmp = tmp
	specPath := filepath.Join(tmp, "spec.json")
	data, _ := json.Marshal(sp) // plain data: cannot fail
	if err := os.WriteFile(specPath, data, 0o600); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("sandbox: %w", err)
	}
	s.cmd = exec.Command("java", jvmArgs(tmp, jar, specPath, sp.MaxTaskManagers)...)
	s.cmd.Dir = tmp
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	s.cmd.Stderr = io.MultiWriter(s.log, logw)
	stdout, err := s.cmd.StdoutPipe()
	if err == nil {
		s.stdin, err = s.cmd.StdinPipe()
	}
	if err == nil {
		err = s.cmd.Start()
	}
	if err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, exec.ErrNotFound) {
			return lookTools("java")
		}
		return fmt.Errorf("sandbox: start java: %w", err)
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(logw, r) // anything else the JVM prints
	}()
	go s.wait()

	startCtx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	var rd ready
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &rd); err != nil || rd.Rest == "" {
			<-s.done
			return s.startFailed(fmt.Errorf("the JVM did not report its REST address"))
		}
	case <-s.done:
		return s.startFailed(nil)
	case <-startCtx.Done():
		s.kill()
		if ctx.Err() != nil { // stopped (Ctrl-C), not the start timeout
			return s.startFailed(fmt.Errorf("stopped while the JVM was starting: %w", ctx.Err()))
		}
		return s.startFailed(fmt.Errorf("not started within %s", cfg.StartTimeout))
	}
	s.jobID, s.version = rd.JobID, rd.FlinkVersion
	if err := s.serve(ln, rd); err != nil {
		s.kill()
		return s.startFailed(err)
	}
	if err := s.awaitRunning(startCtx); err != nil {
		_ = s.Stop(context.Background())
		return s.startFailed(err)
	}
	return nil
}

// Direct memory of the sandbox JVM. Every TaskManager of the MiniCluster
// allocates its network buffers (taskmanager.memory.network.max, 32 MiB in
// Sandbox.java) and its Netty arenas (one per slot, 4 MiB chunks) from the
// one JVM's direct memory; the JobManager's REST server and RPC take the
// rest. With a fixed 1 GiB, 30 TaskManagers left Netty no room: "Cannot
// reserve 4194304 bytes of direct buffer memory", tasks failing with lost
// partition connections and the job restarting every few seconds for as
// long as they ran, REST requests unanswered.
const (
	directMemoryPerTaskManagerMiB = 32 + 16 // network buffers + Netty arenas with headroom
	directMemoryBaseMiB           = 256     // JobManager, REST server, RPC
)

// directMemoryMiB is the JVM's direct memory limit for up to
// maxTaskManagers TaskManagers.
func directMemoryMiB(maxTaskManagers int) int {
	return directMemoryBaseMiB + max(maxTaskManagers, 1)*directMemoryPerTaskManagerMiB
}

// jvmArgs keeps the JVM small (the MiniCluster's TaskManagers share one
// heap), gives it direct memory for maxTaskManagers TaskManagers, and opens
// the JDK modules Flink's distribution opens.
func jvmArgs(tmp, jar, specPath string, maxTaskManagers int) []string {
	return []string{
		"-Xms128m", "-Xmx1g", fmt.Sprintf("-XX:MaxDirectMemorySize=%dm", directMemoryMiB(maxTaskManagers)), "-XX:+UseSerialGC",
		"-Djava.io.tmpdir=" + tmp,
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		// Warnings a MiniCluster always logs and that mean nothing here.
		"-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.security.token=error",
		"-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.webmonitor.WebMonitorUtils=error",
		"--add-opens=java.base/java.lang=ALL-UNNAMED",
		"--add-opens=java.base/java.util=ALL-UNNAMED",
		"--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
		"--add-opens=java.base/java.net=ALL-UNNAMED",
		"--add-opens=java.base/java.io=ALL-UNNAMED",
		"--add-opens=java.base/java.nio=ALL-UNNAMED",
		"--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
		"--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
		"--add-opens=java.base/java.text=ALL-UNNAMED",
		"--add-opens=java.base/java.time=ALL-UNNAMED",
		"-jar", jar, specPath,
	}
}

func (s *Sandbox) wait() {
	err := s.cmd.Wait()
	s.mu.Lock()
	switch {
	case s.stopping:
		s.err = nil
	case err != nil:
		s.err = fmt.Errorf("sandbox: the Flink JVM exited: %w\n%s", err, s.log.String())
	default:
		s.err = fmt.Errorf("sandbox: the Flink JVM exited unexpectedly\n%s", s.log.String())
	}
	s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
	}
	os.RemoveAll(s.tmp)
	close(s.done)
}

func (s *Sandbox) startFailed(cause error) error {
	<-s.done
	if cause == nil {
		return s.Err()
	}
	return fmt.Errorf("sandbox: %w\n%s", cause, s.log.String())
}

// serve fronts Flink's REST API and the control endpoints on one address.
func (s *Sandbox) serve(ln net.Listener, rd ready) error {
	rest, err := url.Parse(rd.Rest)
	if err != nil {
		return fmt.Errorf("REST address %q: %w", rd.Rest, err)
	}
	control, err := url.Parse(rd.Control)
	if err != nil {
		return fmt.Errorf("control address %q: %w", rd.Control, err)
	}
	toRest, toControl := httputil.NewSingleHostReverseProxy(rest), httputil.NewSingleHostReverseProxy(control)
	unavailable := func(w http.ResponseWriter, _ *http.Request, err error) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		body, _ := json.Marshal(map[string][]string{"errors": {"sandbox: Flink is not answering: " + err.Error()}})
		_, _ = w.Write(body)
	}
	toRest.ErrorHandler, toControl.ErrorHandler = unavailable, unavailable
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, flinksim.ControlPrefix) {
			toControl.ServeHTTP(w, r)
			return
		}
		toRest.ServeHTTP(w, r)
	})
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }() // ends with Close
	return nil
}

// awaitRunning polls the job until all its tasks run.
func (s *Sandbox) awaitRunning(ctx context.Context) error {
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		var job struct {
			State string         `json:"state"`
			Tasks map[string]int `json:"status-counts"`
		}
		if err := getJSON(ctx, client, s.url+"/jobs/"+s.jobID, &job); err != nil {
			last = err.Error()
		} else {
			last = "job " + job.State
			total, running := 0, job.Tasks["RUNNING"]
			for _, n := range job.Tasks {
				total += n
			}
			if job.State == "RUNNING" && total > 0 && running == total {
				return nil
			}
		}
		select {
		case <-s.done:
			return errors.New("the JVM exited while the job was starting")
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) { // stopped (Ctrl-C), not the start timeout
				return fmt.Errorf("stopped while job %s was starting (last: %s): %w", s.jobID, last, ctx.Err())
			}
			return fmt.Errorf("job %s not RUNNING in time (last: %s): %w", s.jobID, last, ctx.Err())
		case <-tick.C:
		}
	}
}

func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(data)))
	}
	return json.Unmarshal(data, v)
}

// URL is the JobManager REST base URL; the emulator's control endpoints are
// served under the same base URL and paths as `flinkscaler sim`.
func (s *Sandbox) URL() string { return s.url }

// JobID is the running job's id.
func (s *Sandbox) JobID() string { return s.jobID }

// FlinkVersion is the Flink release running (e.g. "1.20.5").
func (s *Sandbox) FlinkVersion() string { return s.version }

// Scale is how many scenario records one sandbox record stands for.
func (s *Sandbox) Scale() float64 { return s.scale }

// Scenario is the scenario the sandbox runs.
func (s *Sandbox) Scenario() *flinksim.Scenario { return s.sc }

// Done is closed when the JVM exits; Err says why.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// Err is nil while the JVM runs and after Stop; otherwise why it exited.
func (s *Sandbox) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stop ends the JVM: it closes the JVM's stdin (the JVM shuts the
// MiniCluster down and exits), and kills it if it is not gone when ctx ends
// or after 20 s.
func (s *Sandbox) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	_ = s.stdin.Close()
	grace := time.NewTimer(20 * time.Second)
	defer grace.Stop()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	case <-grace.C:
	}
	s.kill()
	<-s.done
	return nil
}

func (s *Sandbox) kill() { _ = s.cmd.Process.Kill() }
