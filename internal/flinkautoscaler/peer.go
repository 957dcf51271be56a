package flinkautoscaler

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config is one run of the autoscaler against one JobManager.
type Config struct {
	Artifact *Artifact
	// JobManager is the JobManager's REST base URL (http://host:port).
	JobManager string
	// Options are the autoscaler's documented options (job.autoscaler.*,
	// autoscaler.standalone.*), passed as --key value. The JobManager's
	// host and port are set by Start, through the recording proxy.
	Options map[string]string
	// Log receives the JVM's output, line by line (nil discards it).
	Log io.Writer
	// OnRescale, if set, is called with every rescale as the JobManager
	// answered it, outside any lock of the Peer.
	OnRescale func(Rescale)
	// OnReport, if set, is called with every scaling report the
	// autoscaler logs (its per-vertex parallelism, processing capacity
	// and target data rate), stamped when read, outside any lock.
	OnReport func(at time.Time, line string)
	// OnCollect, if set, is called (outside any lock) each time the
	// autoscaler has read a job's details (GET /jobs/:jobid), which is how
	// each of its metric collections begins.
	OnCollect func(at time.Time)
	// Now is the clock rescales are stamped with (nil: time.Now).
	Now func() time.Time
}

// Rescale is one PUT /jobs/:jobid/resource-requirements the autoscaler sent.
type Rescale struct {
	At    time.Time
	JobID string
	// Targets is the upper bound per vertex id as sent (every vertex).
	Targets map[string]int
	// Status is the JobManager's HTTP status; Error its error text.
	Status int
	Error  string
}

// Stats counts what the autoscaler's log says it did.
type Stats struct {
	// Reports counts scaling reports (an evaluation that wanted a change);
	// Errors counts logged errors, LastError is the latest one.
	Reports   int
	Errors    int
	LastError string
	// Requests counts REST requests by "METHOD path-pattern status".
	Requests map[string]int
}

// Peer is a running autoscaler.
type Peer struct {
	cmd     *exec.Cmd
	proxy   *http.Server
	target  *url.URL
	done    chan struct{}
	err     error
	cfg     Config
	mu      sync.Mutex
	rescale []Rescale
	stats   Stats
	stopped bool
}

// stopGrace is how long Stop waits for the JVM after SIGTERM.
const stopGrace = 5 * time.Second

// Start starts the autoscaler in its own JVM, pointed at cfg.JobManager
// through a recording proxy on 127.0.0.1. It returns once the JVM runs;
// the JVM is stopped when ctx ends.
func Start(ctx context.Context, cfg Config) (*Peer, error) {
	if cfg.Artifact == nil {
		return nil, fmt.Errorf("flinkautoscaler: no artifact (call Resolve)")
	}
	target, err := url.Parse(cfg.JobManager)
	if err != nil || target.Scheme != "http" || target.Host == "" {
		return nil, fmt.Errorf("flinkautoscaler: JobManager %q: want http://host:port", cfg.JobManager)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	java, err := javaTool("java")
	if err != nil {
		return nil, err
	}
	p := &Peer{target: target, done: make(chan struct{}), cfg: cfg, stats: Stats{Requests: map[string]int{}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("flinkautoscaler: proxy: %w", err)
	}
	p.proxy = &http.Server{Handler: http.HandlerFunc(p.forward), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.proxy.Serve(ln) }() // ends with Close
	port := ln.Addr().(*net.TCPAddr).Port

	dir, err := CacheDir(cfg.Artifact.Version)
	if err != nil {
		_ = p.proxy.Close()
		return nil, err
	}
	args := []string{
		"-Xmx256m", "-Dlog4j.configurationFile=" + dir + "/log4j2.properties",
		"-cp", strings.Join(cfg.Artifact.Classpath, string(os.PathListSeparator)), cfg.Artifact.MainClass,
	}
	for _, k := range sortedKeys(cfg.Options) {
		args = append(args, "--"+k, cfg.Options[k])
	}
	args = append(args,
		"--autoscaler.standalone.fetcher.flink-cluster.host", "127.0.0.1",
		"--autoscaler.standalone.fetcher.flink-cluster.port", fmt.Sprint(port))
	p.cmd = exec.Command(java, args...)
	p.cmd.Env = withoutFlinkConf(os.Environ())
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		_ = p.proxy.Close()
		return nil, err
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		_ = p.proxy.Close()
		return nil, fmt.Errorf("%w: starting java: %w", ErrTooling, err)
	}
	logDone := make(chan struct{})
	go p.readLog(out, logDone)
	go func() {
		<-logDone
		err := p.cmd.Wait()
		p.mu.Lock()
		if !p.stopped {
			p.err = fmt.Errorf("the autoscaler's JVM exited: %v (last error: %s)", err, orNone(p.stats.LastError))
		}
		p.mu.Unlock()
		_ = p.proxy.Close()
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			p.Stop()
		case <-p.done:
		}
	}()
	return p, nil
}

// withoutFlinkConf drops FLINK_CONF_DIR so that only the options given on
// the command line configure the autoscaler.
func withoutFlinkConf(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "FLINK_CONF_DIR=") {
			out = append(out, e)
		}
	}
	return out
}

// Done is closed when the JVM has exited; Err says why if it was not Stop.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Err is nil while the JVM runs and after Stop.
func (p *Peer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stop ends the JVM (SIGTERM, then SIGKILL after a grace period) and the
// proxy.
func (p *Peer) Stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // it may have just exited
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Rescales returns the rescales seen so far.
func (p *Peer) Rescales() []Rescale {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Rescale(nil), p.rescale...)
}

// Stats returns what the log and the proxy counted so far.
func (p *Peer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Requests = make(map[string]int, len(p.stats.Requests))
	for k, v := range p.stats.Requests {
		s.Requests[k] = v
	}
	return s
}

func (p *Peer) readLog(r io.Reader, done chan<- struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p.cfg.Log != nil {
			fmt.Fprintln(p.cfg.Log, line)
		}
		report := strings.Contains(line, "reason : ScalingReport")
		p.mu.Lock()
		switch {
		case report:
			p.stats.Reports++
		case strings.Contains(line, " ERROR "):
			p.stats.Errors++
			p.stats.LastError = line
		}
		p.mu.Unlock()
		if report && p.cfg.OnReport != nil {
			p.cfg.OnReport(p.cfg.Now(), line)
		}
	}
	_, _ = io.Copy(io.Discard, r) // a line over 1 MiB: drain the rest
}

func orNone(s string) string {
	if s == "" {
		return "none logged"
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
