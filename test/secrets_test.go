package test

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/syncbuf"
	"github.com/flinkscaler/flinkscaler/internal/testpki"
)

// deployUsers are the NATS users of deploy/nats/nats.yaml.
var deployUsers = []string{"admin", "metrics", "ingest", "decide", "actuate"}

// password is the test password of a deploy user: distinctive, so a leak
// is found by a plain substring search.
func password(user string) string { return "S3cr3t-" + user + "-7f41c9" }

// startDeployNATS runs an embedded JetStream server with the users and
// subject permissions of the shipped deploy/nats manifest (one source of
// truth for the manifest and this test).
func startDeployNATS(t *testing.T) *natsserver.Server {
	t.Helper()
	dir := t.TempDir()
	for _, u := range deployUsers {
		t.Setenv(strings.ToUpper(u)+"_PASSWORD", password(u))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.conf"), []byte(deployAuthConf(t)), 0o600))
	conf := filepath.Join(dir, "nats.conf")
	require.NoError(t, os.WriteFile(conf, []byte("include ./auth.conf\n"), 0o600))
	opts, err := server.ProcessConfigFile(conf)
	require.NoError(t, err, "deploy/nats auth.conf")
	srv, err := natsserver.Start(natsserver.Config{Options: opts, ServerName: "deploy-auth"})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	return srv
}

// deployAuthConf is data["auth.conf"] of the ConfigMap nats-config in
// deploy/nats/nats.yaml.
func deployAuthConf(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "nats", "nats.yaml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc struct {
			Kind     string                `yaml:"kind"`
			Metadata struct{ Name string } `yaml:"metadata"`
			Data     map[string]string     `yaml:"data"`
		}
		if err := dec.Decode(&doc); err != nil {
			require.FailNow(t, "deploy/nats/nats.yaml has no ConfigMap nats-config with auth.conf", err.Error())
		}
		if doc.Kind == "ConfigMap" && doc.Metadata.Name == "nats-config" && doc.Data["auth.conf"] != "" {
			return doc.Data["auth.conf"]
		}
	}
}

// userURL is the server URL with a deploy user's credentials, as the
// function manifests pass them (nats://user:$(NATS_PASSWORD)@host).
func userURL(srv *natsserver.Server, user string) string {
	return "nats://" + user + ":" + password(user) + "@" + srv.Server().Addr().String()
}

// debugLogger logs every level into b.
func debugLogger(b *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// flinkTLSAuth serves h over HTTPS with a private CA and requires basic
// auth with user and pass or the bearer token.
func flinkTLSAuth(t *testing.T, h http.Handler, user, pass, token string) (url, caFile string) {
	t.Helper()
	ca := testpki.NewCA(t, "flink")
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, basic := r.BasicAuth()
		okBasic := basic && subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(user+":"+pass)) == 1
		okToken := subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) == 1
		if !okBasic && !okToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":["unauthorized"]}`))
			return
		}
		h.ServeHTTP(w, r)
	}))
	ts.TLS = ca.ServerTLS("flink", nil)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.URL, ca.CAFile
}

// TestFunctionsUnderDeployedPermissionsLeakNoSecret runs metrics-ingest,
// decide and actuate through their own Run functions, each as its NATS user
// of deploy/nats with the subject permissions shipped there; ingest reads
// Flink over HTTPS with basic auth, actuate over HTTPS with a bearer token.
// Each does its work (snapshots, state, results), a function's user cannot
// publish another's events, and no password or token appears in any log
// line at any level, in any stored event or KV entry, or in a connect error.
func TestFunctionsUnderDeployedPermissionsLeakNoSecret(t *testing.T) {
	srv := startDeployNATS(t)
	e := startEmulator(t, stepScenario, 30, nil)
	const flinkUser, flinkPass, flinkToken = "flinkscaler", "Fl1nk-pass-c0ffee", "Fl1nk-t0ken-be11"
	flinkURL, flinkCA := flinkTLSAuth(t, e.sim.Handler(), flinkUser, flinkPass, flinkToken)
	tokenFile := filepath.Join(t.TempDir(), "flink-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(flinkToken+"\n"), 0o600))
	secrets := []string{flinkPass, flinkToken}
	for _, u := range deployUsers {
		secrets = append(secrets, password(u))
	}
	logs := map[string]*syncbuf.Buffer{"ingest": {}, "decide": {}, "actuate": {}}

	icfg := ingestConfig(e, userURL(srv, "ingest"))
	icfg.Interval, icfg.RequestTimeout = 200*time.Millisecond, 200*time.Millisecond
	icfg.Targets = []ingest.Target{{Cluster: cluster, URL: flinkURL,
		TLS: ingest.TLS{CAFile: flinkCA}, Auth: ingest.Auth{Username: flinkUser, Password: flinkPass}}}
	ip := goRun(t, "ingest", func(ctx context.Context) error { return ingest.Run(ctx, icfg, debugLogger(logs["ingest"])) })
	dcfg := decideConfig(t, "")
	dcfg.NATS = events.ConnOptions{URL: "nats://" + srv.Server().Addr().String(), User: "decide", Password: password("decide"), Name: "decide"}
	startDecide(t, dcfg, debugLogger(logs["decide"]))
	acfg := actuateConfig(t, e, userURL(srv, "actuate"))
	// The emulator's TaskManager control endpoint is not Flink's API and
	// takes no TLS settings: actuate changes parallelism only here.
	acfg.Flink[cluster], acfg.FlinkCAFile, acfg.FlinkTokenFile = flinkURL, flinkCA, tokenFile
	acfg.TaskManagers = actuator.BackendNone
	require.NoError(t, acfg.Validate())
	startActuate(t, acfg, debugLogger(logs["actuate"]))

	admin := adminJS(t, userURL(srv, "admin"))
	ctx := t.Context()
	eventually(t, 30*time.Second, func() bool {
		n, err := countSubject(ctx, admin, events.SnapshotFilter)
		return err == nil && n >= 3
	}, "ingest published no snapshots as user ingest (Run: %v):\n%s", ip.exited(), logs["ingest"])
	state, err := admin.KeyValue(ctx, events.BucketState)
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() bool {
		_, err := state.Get(ctx, events.KVKey(cluster, e.sim.JobID()))
		return err == nil
	}, "decide kept no state as user decide:\n%s", logs["decide"])

	publishDecision(t, admin, e, 2, 1)
	eventually(t, 30*time.Second, func() bool {
		n, err := countSubject(ctx, admin, events.ResultFilter)
		return err == nil && n >= 1
	}, "actuate published no result as user actuate:\n%s", logs["actuate"])
	tl := readStream(t, userURL(srv, "admin"))
	for _, rs := range tl.results {
		require.Equal(t, events.OutcomeApplied, rs[0].Outcome, rs[0].Error)
	}
	for id, b := range e.sim.Requirements() {
		require.Equal(t, 1, b.Upper, "actuate declared parallelism 1 for vertex %s", id)
	}

	denied := map[string]string{
		"ingest":  events.DecisionSubject(cluster, e.sim.JobID()),
		"decide":  events.ResultSubject(cluster, e.sim.JobID()),
		"actuate": events.DecisionSubject(cluster, e.sim.JobID()),
		"metrics": events.SnapshotSubject(cluster, e.sim.JobID()),
	}
	for user, subject := range denied {
		js := adminJS(t, userURL(srv, user))
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.Publish(pctx, subject, []byte(`{}`))
		cancel()
		require.Error(t, err, "%s published on %s", user, subject)
	}

	sources := collectEverything(t, admin, logs)
	checked := 0
	for where, text := range sources {
		checked += len(text)
		for _, s := range secrets {
			if i := strings.Index(text, s); i >= 0 {
				require.FailNow(t, "a secret leaked", "%q in %s: …%s…", s, where, text[max(0, i-120):min(len(text), i+len(s)+20)])
			}
		}
	}

	// A function that cannot connect says where it tried, without the
	// password of the URL.
	closed := "nats://ingest:" + password("ingest") + "@" + freeAddr(t)
	bad := icfg
	bad.NATS.URL = closed
	bctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	errs := map[string]error{"ingest": ingest.Run(bctx, bad, slog.New(slog.DiscardHandler))}
	bacfg := acfg
	bacfg.NATS.URL = closed
	errs["actuate"] = actuator.Run(bctx, bacfg, slog.New(slog.DiscardHandler))
	bdcfg := dcfg
	bdcfg.NATS.URL = closed
	errs["decide"] = decider.Run(bctx, bdcfg, slog.New(slog.DiscardHandler))
	for fn, err := range errs {
		require.Error(t, err, fn)
		require.NotContains(t, err.Error(), password("ingest"), "%s's connect error shows the password", fn)
	}
	t.Logf("checked %d bytes of logs, stored events and KV entries (%d snapshots, %d results) and 3 connect errors: none of %d secrets appears; 4 users denied outside their subjects",
		checked, tl.snapshots, len(tl.results), len(secrets))
}

// adminJS connects to url (credentials in it) for JetStream.
func adminJS(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// publishDecision publishes a decision to run e's job on tms TaskManagers
// at parallelism p.
func publishDecision(t *testing.T, js jetstream.JetStream, e *emulator, tms, p int) events.Decision {
	t.Helper()
	d := events.Decision{
		DecisionID: "d-" + time.Now().Format("150405.000000"), SnapshotID: "s-test", Cluster: cluster,
		JobID: e.sim.JobID(), JobName: e.sim.Scenario().Job.Name, Mode: events.ModeAdaptive,
		TaskManagers: events.Count{Current: e.sim.TaskManagers(), Target: tms},
		Slots:        events.Slots{PerTaskManager: 1, Sharing: events.SlotSharingShared},
		Policy:       "test", Rationale: "test", DecidedAt: time.Now().UTC(),
	}
	for _, id := range e.sim.VertexIDs() {
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: id, Name: id, Current: 2, Target: p, Reason: "test"})
	}
	ev, err := events.New(events.TypeDecision, decider.Function, cluster, d.JobID, d)
	require.NoError(t, err)
	require.NoError(t, events.Publish(t.Context(), js, ev))
	return d
}

// collectEverything returns every log (by function), every stored message
// (headers and body, by stream) and every KV value, as text by where it is.
func collectEverything(t *testing.T, js jetstream.JetStream, logs map[string]*syncbuf.Buffer) map[string]string {
	t.Helper()
	out := map[string]string{}
	for fn, l := range logs {
		out["log of "+fn] = l.String()
	}
	ctx := t.Context()
	lister := js.StreamNames(ctx)
	for name := range lister.Name() {
		s, err := js.Stream(ctx, name)
		require.NoError(t, err)
		info, err := s.Info(ctx)
		require.NoError(t, err)
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				continue // deleted or expired
			}
			var b strings.Builder
			b.WriteString(m.Subject)
			for k, v := range m.Header {
				b.WriteString(" " + k + "=" + strings.Join(v, ","))
			}
			b.Write(m.Data)
			out[fmt.Sprintf("stream %s message %d", name, seq)] = b.String()
		}
	}
	require.NoError(t, lister.Err())
	return out
}
