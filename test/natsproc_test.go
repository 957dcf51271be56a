package test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/testport"
)

const natsServerModule = "github.com/nats-io/nats-server/v2"

var (
	natsBinaryOnce sync.Once
	natsBinaryPath string
	natsBinaryErr  error
)

// natsServerBinary builds nats-server at the version go.mod requires (so the
// process and the embedded servers agree) into the user cache, keyed by that
// version and the Go toolchain; later runs reuse it.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	natsBinaryOnce.Do(func() { natsBinaryPath, natsBinaryErr = buildNATSServer() })
	require.NoError(t, natsBinaryErr)
	return natsBinaryPath
}

func buildNATSServer() (string, error) {
	// Test binaries carry no module versions in their build info; ask go.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", natsServerModule).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", natsServerModule, err)
	}
	version := strings.TrimSpace(string(out))
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	dir := filepath.Join(cache, "flinkscaler")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "nats-server-"+version+"-"+runtime.Version())
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, natsServerModule)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", natsServerModule, err, log.String())
	}
	return bin, os.Rename(tmp, bin)
}

// natsProcess is nats-server as a separate process with file storage, on a
// fixed port so clients reconnect to the same URL after a restart.
type natsProcess struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
	log  string // the server's log file
	args []string
	// exited is closed once cmd has exited (launch waits on it).
	exited chan struct{}
}

// startNATSProcess starts nats-server -js on a free port with its store in
// a temporary directory; extra arguments are appended.
func startNATSProcess(t *testing.T, extra ...string) *natsProcess {
	t.Helper()
	p := &natsProcess{t: t, bin: natsServerBinary(t), port: testport.Port(t), dir: t.TempDir(), args: extra}
	p.start()
	t.Cleanup(func() {
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *natsProcess) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

func (p *natsProcess) start() {
	p.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", p.port)
	// The port is testport's, outside the kernel's ephemeral range and held
	// by our flock, so nothing takes it by chance; a restart right after
	// SIGKILL may still find it held for a moment (by whatever could bind
	// it explicitly). A server that cannot listen exits, so wait for this
	// process's own "Listening" line, and start it again on the same port
	// while the port is held, for a bounded time.
	deadline := time.Now().Add(30 * time.Second)
	for !p.launch(addr) {
		if time.Now().After(deadline) {
			require.FailNow(p.t, "nats-server could not listen on "+addr, "for 30s: %s", p.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// JetStream answers only once its store is recovered.
	eventually(p.t, 30*time.Second, func() bool {
		nc, err := nats.Connect(p.url(), nats.UserInfo(p.user()))
		if err != nil {
			return false
		}
		defer nc.Close()
		_, err = nc.Request("$JS.API.INFO", nil, 2*time.Second)
		return err == nil
	}, "JetStream not ready: %s", p.logTail())
}

// launch starts the process and reports whether it listens on addr (its
// log says so); false when it exited first, its port held by another.
func (p *natsProcess) launch(addr string) bool {
	p.t.Helper()
	args := append([]string{"-js", "-a", "127.0.0.1", "-p", fmt.Sprint(p.port), "-sd", p.dir, "-n", "flinkscaler-test"}, p.args...)
	cmd := exec.Command(p.bin, args...)
	p.log = filepath.Join(p.t.TempDir(), "nats-server.log")
	f, err := os.Create(p.log)
	require.NoError(p.t, err)
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(p.t, cmd.Start())
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() { _ = cmd.Wait(); close(exited) }()
	listening := "Listening for client connections on " + addr
	end := time.Now().Add(20 * time.Second)
	for {
		if b, _ := os.ReadFile(p.log); strings.Contains(string(b), listening) {
			return true
		}
		select {
		case <-exited:
			p.cmd = nil
			return false
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(end) {
			require.FailNow(p.t, "nats-server did not listen on "+addr, "within 20s: %s", p.logTail())
		}
	}
}

// user returns the admin user and password when the server was started
// with --user/--pass.
func (p *natsProcess) user() (string, string) {
	var u, pw string
	for i := 0; i+1 < len(p.args); i++ {
		switch p.args[i] {
		case "--user":
			u = p.args[i+1]
		case "--pass":
			pw = p.args[i+1]
		}
	}
	return u, pw
}

// kill ends the process with SIGKILL: no lame duck, no flush.
func (p *natsProcess) kill() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Kill())
	<-p.exited
	p.cmd = nil
}

// restart starts the process again on the same port and store.
func (p *natsProcess) restart() { p.start() }

// freeAddr is a loopback address for a server the test starts later
// (testport: no other process is handed it in between).
func freeAddr(t *testing.T) string {
	t.Helper()
	return testport.Addr(t)
}

func (p *natsProcess) logTail() string {
	b, _ := os.ReadFile(p.log)
	return lastLines(string(b), 20)
}

// lastLines is the tail of a log for failure messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// A restart that finds its port held for a moment (as right after a
// SIGKILL) starts the server again on the same port once it is free:
// before, the first check passed on the other listener and the server,
// which had exited, never answered.
func TestNATSProcessRestartWaitsForItsPort(t *testing.T) {
	ns := startNATSProcess(t)
	ns.kill()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ns.port))
	require.NoError(t, err, "the killed server's port is free")
	time.AfterFunc(time.Second, func() { _ = l.Close() })
	ns.restart()
	nc, err := nats.Connect(ns.url())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Request("$JS.API.INFO", nil, 5*time.Second)
	require.NoError(t, err, "the restarted server answers with JetStream")
}
