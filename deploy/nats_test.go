package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// users are the NATS users of deploy/nats/nats.yaml; the password of each
// is read from <USER>_PASSWORD, as in the StatefulSet.
var users = []string{"admin", "metrics", "ingest", "decide", "actuate"}

// waitFor bounds every wait in these tests.
const waitFor = 5 * time.Second

// natsClient is one user's connection; errs receives asynchronous server
// errors such as permission violations.
type natsClient struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	errs chan error
}

// startAuthNATS runs an embedded JetStream server with the users and
// permissions of the shipped auth.conf.
func startAuthNATS(t *testing.T) *natsserver.Server {
	t.Helper()
	dir := t.TempDir()
	for _, u := range users {
		t.Setenv(strings.ToUpper(u)+"_PASSWORD", u+"-secret")
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.conf"), []byte(configMapKey(t, "auth.conf")), 0o600))
	conf := filepath.Join(dir, "nats.conf")
	require.NoError(t, os.WriteFile(conf, []byte("include ./auth.conf\n"), 0o600))
	opts, err := server.ProcessConfigFile(conf)
	require.NoError(t, err, "deploy/nats auth.conf")
	srv, err := natsserver.Start(natsserver.Config{Options: opts, StoreDir: filepath.Join(dir, "js")})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	return srv
}

// configMapKey returns a data key of the nats-config ConfigMap.
func configMapKey(t *testing.T, key string) string {
	t.Helper()
	for _, m := range loadManifests(t, "nats") {
		if m.obj.GetKind() == "ConfigMap" && m.obj.GetName() == "nats-config" {
			v, ok := m.obj.Object["data"].(map[string]any)[key].(string)
			require.True(t, ok, "nats-config has no %s", key)
			return v
		}
	}
	t.Fatal("deploy/nats has no ConfigMap nats-config")
	return ""
}

func connect(t *testing.T, srv *natsserver.Server, user string) *natsClient {
	t.Helper()
	c := &natsClient{errs: make(chan error, 64)}
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(user, user+"-secret"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.errs <- err:
			default:
			}
		}))
	require.NoError(t, err, "connect as %s", user)
	t.Cleanup(nc.Close)
	c.nc = nc
	c.js, err = jetstream.New(nc)
	require.NoError(t, err)
	return c
}

// runRunner runs an events.Runner as the user until the test ends; its
// handler never succeeds because the tests only send undecodable messages,
// so every message is rejected onto flinkscaler.rejected.<durable>.
func runRunner(t *testing.T, c *natsClient, durable string, filters ...string) {
	t.Helper()
	r, err := events.NewRunner(c.js, events.RunnerConfig{Function: durable, Durable: durable, FilterSubjects: filters},
		func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
			return nil, errors.New("handler reached: the message should have been rejected before")
		})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "runner %s", durable)
	})
}

func TestNATSUsersCanDoTheirWork(t *testing.T) {
	srv := startAuthNATS(t)
	ctx := t.Context()
	admin, ingester, metrics := connect(t, srv, "admin"), connect(t, srv, "ingest"), connect(t, srv, "metrics")
	decide, actuate := connect(t, srv, "decide"), connect(t, srv, "actuate")
	for name, c := range map[string]*natsClient{"ingest": ingester, "decide": decide, "actuate": actuate} {
		require.NoError(t, events.Provision(ctx, c.js, events.ProvisionConfig{}), "%s provisions", name)
	}
	runRunner(t, decide, "decide", decider.Subjects...)
	runRunner(t, actuate, "actuate", events.DecisionFilter)

	for _, p := range []struct {
		c       *natsClient
		subject string
	}{
		{ingester, events.SnapshotSubject("prod", "job1")},
		{metrics, events.MetricSubject("prod", "job1")},
		{decide, events.DecisionSubject("prod", "job1")},
		{actuate, events.ResultSubject("prod", "job1")},
	} {
		_, err := p.c.js.Publish(ctx, p.subject, []byte("not a cloudevent"))
		require.NoError(t, err, "publish %s", p.subject)
	}
	waitConsumed(t, admin, "decide", 3) // the snapshot, the metric and the result
	waitConsumed(t, admin, "actuate", 1)
	stream, err := admin.js.Stream(ctx, events.StreamName)
	require.NoError(t, err)
	for _, fn := range []string{"decide", "actuate"} {
		_, err := stream.GetLastMsgForSubject(ctx, events.RejectedSubject(fn))
		require.NoError(t, err, "%s republished its rejections", fn)
	}

	useKV(t, decide, events.BucketState, true)
	useKV(t, actuate, events.BucketActuations, true)
	useKV(t, actuate, events.BucketDesiredTMs, true)
	policy, err := admin.js.KeyValue(ctx, events.BucketPolicy)
	require.NoError(t, err)
	_, err = policy.Put(ctx, events.KVKey("prod", "job1"), []byte(`{"maxParallelism":8}`))
	require.NoError(t, err)
	useKV(t, decide, events.BucketPolicy, false)
	useKV(t, actuate, events.BucketPolicy, false)
	ingestMembership(t, ingester)
}

// ingestMembership joins, lists and leaves metrics-ingest's member bucket
// with ingest's own code.
func ingestMembership(t *testing.T, c *natsClient) {
	t.Helper()
	m, err := ingest.JoinKV(t.Context(), c.js, "metrics-ingest-0", time.Minute)
	require.NoError(t, err)
	members, err := m.Members(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"metrics-ingest-0"}, members)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Run leaves (deletes its key) once ctx is done
	var leaveErr error
	require.NoError(t, m.Run(ctx, func(err error) { leaveErr = err }))
	require.NoError(t, leaveErr)
}

// waitConsumed waits until durable has delivered n messages and none is
// pending or unacknowledged.
func waitConsumed(t *testing.T, admin *natsClient, durable string, n uint64) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		c, err := admin.js.Consumer(t.Context(), events.StreamName, durable)
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = c.Info(t.Context())
		}
		if err == nil && info.Delivered.Consumer >= n && info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer %s did not consume %d messages: info %+v, error %v", durable, n, info, err)
		}
	}
}

// useKV reads and watches a job's key in bucket as c; with write it first
// creates and updates it with compare-and-set.
func useKV(t *testing.T, c *natsClient, bucket string, write bool) {
	t.Helper()
	ctx := t.Context()
	kv, err := c.js.KeyValue(ctx, bucket)
	require.NoError(t, err, "open %s", bucket)
	key := events.KVKey("prod", "job1")
	if write {
		rev, err := kv.Create(ctx, key, []byte("1"))
		require.NoError(t, err, "create in %s", bucket)
		_, err = kv.Update(ctx, key, []byte("2"), rev)
		require.NoError(t, err, "update in %s", bucket)
	}
	e, err := kv.Get(ctx, key)
	require.NoError(t, err, "get from %s", bucket)
	w, err := kv.Watch(ctx, key)
	require.NoError(t, err, "watch %s", bucket)
	defer func() { require.NoError(t, w.Stop()) }()
	select {
	case got := <-w.Updates():
		require.NotNil(t, got)
		require.Equal(t, e.Value(), got.Value())
	case <-time.After(waitFor):
		t.Fatalf("watch %s: no entry", bucket)
	}
}

// TestNATSEachFunctionProvisionsAlone: whichever function starts first
// creates the stream and every bucket.
func TestNATSEachFunctionProvisionsAlone(t *testing.T) {
	for _, user := range []string{"ingest", "decide", "actuate"} {
		t.Run(user, func(t *testing.T) {
			c := connect(t, startAuthNATS(t), user)
			require.NoError(t, events.Provision(t.Context(), c.js, events.ProvisionConfig{}))
			require.NoError(t, events.Provision(t.Context(), c.js, events.ProvisionConfig{}), "again, idempotent")
		})
	}
}

func TestNATSUsersDeniedOutsideTheirSubjects(t *testing.T) {
	tests := []struct {
		user, subject string
		subscribe     bool
	}{
		{user: "ingest", subject: events.DecisionSubject("prod", "job1")},
		{user: "ingest", subject: "$JS.API.CONSUMER.CREATE.FLINKSCALER.decide"},
		{user: "ingest", subject: "$KV.flinkscaler_state.prod.job1"},
		{user: "metrics", subject: events.SnapshotSubject("prod", "job1")},
		{user: "metrics", subject: "$JS.API.STREAM.CREATE.FLINKSCALER"},
		{user: "decide", subject: events.ResultSubject("prod", "job1")},
		{user: "decide", subject: events.RejectedSubject("actuate")},
		{user: "decide", subject: "$KV.flinkscaler_policy.prod.job1"},
		{user: "decide", subject: "$KV.flinkscaler_desired_tms.prod.job1"},
		{user: "decide", subject: "$JS.API.STREAM.DELETE.FLINKSCALER"},
		{user: "decide", subject: "$JS.API.STREAM.PURGE.KV_flinkscaler_state"},
		{user: "decide", subject: "$JS.ACK.FLINKSCALER.actuate.1.1.1.1.1"},
		{user: "actuate", subject: events.SnapshotSubject("prod", "job1")},
		{user: "actuate", subject: events.DecisionSubject("prod", "job1")},
		{user: "actuate", subject: "$KV.flinkscaler_state.prod.job1"},
		{user: "actuate", subject: "$JS.API.CONSUMER.MSG.NEXT.FLINKSCALER.decide"},
		{user: "decide", subject: "flinkscaler.>", subscribe: true},
		{user: "ingest", subject: events.SnapshotFilter, subscribe: true},
	}
	srv := startAuthNATS(t)
	for _, tt := range tests {
		verb := "publish"
		if tt.subscribe {
			verb = "subscribe"
		}
		t.Run(tt.user+" "+verb+" "+tt.subject, func(t *testing.T) {
			c := connect(t, srv, tt.user)
			if tt.subscribe {
				_, err := c.nc.SubscribeSync(tt.subject)
				require.NoError(t, err)
			} else {
				require.NoError(t, c.nc.Publish(tt.subject, []byte("x")))
			}
			require.NoError(t, c.nc.Flush())
			select {
			case err := <-c.errs:
				require.ErrorIs(t, err, nats.ErrPermissionViolation)
				require.ErrorContains(t, err, tt.subject)
			case <-time.After(waitFor):
				t.Fatalf("%s may %s %s", tt.user, verb, tt.subject)
			}
		})
	}
}

// TestNATSServerConfigParses loads the shipped nats.conf (with auth.conf)
// as nats-server would in pod nats-1.
func TestNATSServerConfigParses(t *testing.T) {
	dir := t.TempDir()
	for _, key := range []string{"nats.conf", "auth.conf"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, key), []byte(configMapKey(t, key)), 0o600))
	}
	for _, u := range users {
		t.Setenv(strings.ToUpper(u)+"_PASSWORD", u+"-secret")
	}
	t.Setenv("POD_NAME", "nats-1")
	t.Setenv("CLIENT_ADVERTISE", "nats-1.nats-headless.flinkscaler.svc.cluster.local")
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
	require.NoError(t, err)
	require.Equal(t, "nats-1", opts.ServerName)
	require.Equal(t, "nats-1.nats-headless.flinkscaler.svc.cluster.local", opts.ClientAdvertise)
	require.True(t, opts.JetStream)
	require.Equal(t, "/data", opts.StoreDir)
	require.Equal(t, 8222, opts.HTTPPort, "KEDA and the probes use the monitoring port")
	require.Equal(t, "flinkscaler", opts.Cluster.Name)
	require.Equal(t, 6222, opts.Cluster.Port)
	require.Len(t, opts.Routes, 3, "one route per StatefulSet replica")
	require.GreaterOrEqual(t, opts.MaxPayload, int32(events.MaxMessageSize), "the stream accepts events up to MaxMessageSize")
	names := make([]string, 0, len(opts.Users))
	for _, u := range opts.Users {
		names = append(names, u.Username)
	}
	require.ElementsMatch(t, users, names)
}
