// Package kubetest runs a real kube-apiserver (with embedded etcd, RBAC on,
// no controllers) for tests, and offers helpers to create the objects tests
// need: namespaces, Deployments, ServiceAccounts with RBAC, CRDs, and any
// object from YAML, optionally as a server-side dry-run.
//
// The apiserver is built from test/kubeapiserver (its own Go module) the first
// time it is needed on a machine; see Binary. After that, Start takes a few
// seconds. No controllers run: a Deployment's status stays empty, so tests
// check spec.replicas, for example through the scale subresource.
package kubetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/flinkscaler/flinkscaler/internal/testport"
)

const (
	// readyTimeout bounds the wait for /readyz after the process starts:
	// seconds when the machine is idle; a loaded 2-core machine took more
	// than a minute (its caches still syncing).
	readyTimeout = 3 * time.Minute
	// stopTimeout bounds a graceful stop before the process is killed.
	stopTimeout = 5 * time.Second
	// serviceCIDR is the apiserver's service cluster IP range.
	serviceCIDR = "10.96.0.0/16"
	// Issuer is the service account token issuer and default audience.
	Issuer = "https://kubernetes.default.svc.cluster.local"
)

// Server is a running test kube-apiserver, stopped by t.Cleanup.
type Server struct {
	url      string
	token    string
	certFile string
	caData   []byte
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
	stopOnce sync.Once
	admin    *kubernetes.Clientset
}

// Start builds the apiserver if needed, starts it on a random 127.0.0.1 port
// with a temporary data directory, and blocks until /readyz answers 200. It
// fails t (never skips) when the binary cannot be built or the server does
// not become ready; the failure shows the end of the server's log.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := buildBefore(t, ErrBuild, "the test kube-apiserver (about 8 CPU-minutes)", Binary)
	require.NoError(t, err, "kubetest needs the test kube-apiserver")
	began := time.Now()
	var s *Server
	for attempt := 1; ; attempt++ {
		s = launch(t, bin, t.TempDir(), testport.Port(t))
		err = s.waitReady()
		if err == nil || attempt == 3 || !s.portTaken() {
			break
		}
		s.Stop()
	}
	require.NoError(t, err, "kube-apiserver not ready; log %s ends with:\n%s", s.logPath, s.logTail())
	t.Logf("kube-apiserver ready at %s in %s (log %s)", s.url, time.Since(began).Round(time.Millisecond), s.logPath)
	s.admin, err = kubernetes.NewForConfig(s.AdminConfig())
	require.NoError(t, err)
	return s
}

// launch writes keys and tokens into dir and starts the process; embedded
// etcd keeps its data under dir too (TMPDIR).
func launch(t testing.TB, bin, dir string, port int) *Server {
	t.Helper()
	s := &Server{
		url:      "https://127.0.0.1:" + strconv.Itoa(port),
		token:    randomHex(t),
		certFile: filepath.Join(dir, "certs", "apiserver.crt"),
		logPath:  filepath.Join(dir, "kube-apiserver.log"),
		exited:   make(chan struct{}),
	}
	keyFile := filepath.Join(dir, "sa.key")
	require.NoError(t, os.WriteFile(keyFile, rsaKeyPEM(t), 0o600))
	tokenFile := filepath.Join(dir, "tokens.csv")
	line := s.token + `,admin,admin,"system:masters"` + "\n"
	require.NoError(t, os.WriteFile(tokenFile, []byte(line), 0o600))
	logFile, err := os.Create(s.logPath)
	require.NoError(t, err)
	s.cmd = exec.Command(bin, s.flags(port, keyFile, tokenFile)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	dieWithParent(s.cmd)
	require.NoError(t, s.cmd.Start(), "start kube-apiserver")
	go func() {
		_ = s.cmd.Wait() // the exit status is in the log; Stop only needs the exit
		logFile.Close()
		close(s.exited)
	}()
	t.Cleanup(s.Stop)
	return s
}

// flags configures loopback serving with a self-signed certificate, RBAC,
// a static admin token and service account tokens, and turns off what
// needs controllers that do not run here: the endpoint reconciler, priority
// and fairness, and ServiceAccount admission (a Pod would need its
// namespace's "default" ServiceAccount, which no controller creates).
func (s *Server) flags(port int, keyFile, tokenFile string) []string {
	return []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Dir(s.certFile),
		"--authorization-mode=RBAC",
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=" + Issuer,
		"--service-account-key-file=" + keyFile,
		"--service-account-signing-key-file=" + keyFile,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--disable-admission-plugins=ServiceAccount",
	}
}

// waitReady polls /readyz until it answers 200, the process exits, or
// readyTimeout passes; then it loads the serving CA.
func (s *Server) waitReady() error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		// The CA file is written by the server itself; it is read below.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	defer client.CloseIdleConnections()
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !s.ready(client) {
		select {
		case <-s.exited:
			return errors.New("kube-apiserver exited")
		case <-deadline.C:
			return fmt.Errorf("no 200 from %s/readyz within %s", s.url, readyTimeout)
		case <-tick.C:
		}
	}
	ca, err := os.ReadFile(s.certFile)
	if err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	s.caData = ca
	return nil
}

func (s *Server) ready(client *http.Client) bool {
	req, err := http.NewRequest(http.MethodGet, s.url+"/readyz", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop stops the apiserver: SIGTERM, then SIGKILL after stopTimeout. It
// blocks until the process has exited and is safe to call more than once;
// requests made afterwards fail as they would against a server that is down.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			_ = s.cmd.Process.Kill() // already exited, or no SIGTERM on this OS
		}
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// URL is the apiserver's base URL, https://127.0.0.1:<port>.
func (s *Server) URL() string { return s.url }

// CAData is the PEM bundle that verifies the apiserver's serving certificate.
func (s *Server) CAData() []byte { return bytes.Clone(s.caData) }

// AdminConfig is a config for a system:masters user (no RBAC limits).
func (s *Server) AdminConfig() *rest.Config { return s.tokenConfig(s.token) }

// Admin is a clientset for the system:masters user.
func (s *Server) Admin() kubernetes.Interface { return s.admin }

// LogPath is the file that receives the apiserver's output.
func (s *Server) LogPath() string { return s.logPath }

func (s *Server) tokenConfig(token string) *rest.Config {
	return &rest.Config{
		Host:            s.url,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.CAData()},
		QPS:             -1, // no client-side throttling in tests
	}
}

func (s *Server) portTaken() bool {
	b, _ := os.ReadFile(s.logPath)
	return bytes.Contains(b, []byte("address already in use"))
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	return tail(b, 6000)
}

// ctx returns a context bounded for one helper's API calls.
func (s *Server) ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// buildMargin is the time left to a test after it gives up waiting for a
// first build, so it fails with its own message rather than go test's
// timeout panic.
const buildMargin = 45 * time.Second

// buildBefore returns build's binary (Binary, or a Tool), waiting for a
// first build no longer than the test's deadline allows. A build the
// deadline cuts short goes on after the test binary exits and installs
// itself (goBuild), so the next run uses it or waits for it.
func buildBefore(t testing.TB, kind error, what string, build func() (string, error)) (string, error) {
	type result struct {
		bin string
		err error
	}
	done := make(chan result, 1)
	go func() {
		bin, err := build()
		done <- result{bin, err}
	}()
	var timeout <-chan time.Time
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := dt.Deadline(); ok {
			timeout = time.After(time.Until(deadline) - buildMargin)
		}
	}
	select {
	case r := <-done:
		return r.bin, r.err
	case <-timeout:
		return "", fmt.Errorf("%w: the first build of %s on this machine did not finish before the test deadline; "+
			"it goes on after the tests exit and installs itself, so run the tests again (they wait for it), "+
			"or give them more time with -timeout 30m", kind, what)
	}
}
