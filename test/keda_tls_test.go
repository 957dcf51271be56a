package test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/testpki"
)

// kedaClient calls the external scaler at addr with creds.
func kedaClient(t *testing.T, addr string, creds credentials.TransportCredentials) externalscaler.ExternalScalerClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return externalscaler.NewExternalScalerClient(cc)
}

// clientTLS trusts serverCA and, when certFile is set, presents that
// client certificate.
func clientTLS(t *testing.T, serverCA *testpki.CA, certFile, keyFile string) credentials.TransportCredentials {
	t.Helper()
	pem, err := os.ReadFile(serverCA.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(cfg)
}

// TestKEDAScalerTLS runs actuate (actuator.Run) with its KEDA external
// scaler on TLS and on mutual TLS, applies a decision, and asks the scaler
// for the job's desired TaskManagers as KEDA would: with the right
// credentials it answers the applied count; in plaintext, without a client
// certificate, or with one from another CA, it is refused.
func TestKEDAScalerTLS(t *testing.T) {
	serverCA, clientCA, strangerCA := testpki.NewCA(t, "keda-server"), testpki.NewCA(t, "keda-clients"), testpki.NewCA(t, "stranger")
	srvCert, srvKey := serverCA.Issue("actuate", true)
	cliCert, cliKey := clientCA.Issue("keda-operator", false)
	badCert, badKey := strangerCA.Issue("keda-operator", false)
	tests := []struct {
		name    string
		tls     kedascaler.TLSFiles
		allowed map[string]credentials.TransportCredentials
		refused map[string]credentials.TransportCredentials
	}{
		{name: "tls", tls: kedascaler.TLSFiles{Cert: srvCert, Key: srvKey},
			allowed: map[string]credentials.TransportCredentials{"server verified": clientTLS(t, serverCA, "", "")},
			refused: map[string]credentials.TransportCredentials{"plaintext": insecure.NewCredentials()}},
		{name: "mutual-tls", tls: kedascaler.TLSFiles{Cert: srvCert, Key: srvKey, ClientCA: clientCA.CAFile},
			allowed: map[string]credentials.TransportCredentials{"client certificate": clientTLS(t, serverCA, cliCert, cliKey)},
			refused: map[string]credentials.TransportCredentials{
				"plaintext":                 insecure.NewCredentials(),
				"no client certificate":     clientTLS(t, serverCA, "", ""),
				"certificate of another CA": clientTLS(t, serverCA, badCert, badKey),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := natsserver.Start(natsserver.Config{})
			require.NoError(t, err)
			t.Cleanup(srv.Shutdown)
			e := startEmulator(t, stepScenario, 30, nil)
			acfg := actuateConfig(t, e, srv.ClientURL())
			acfg.KEDAListen, acfg.KEDATLS = freeAddr(t), tt.tls
			require.NoError(t, acfg.Validate())
			startActuate(t, acfg, testLog(t, "actuate"))
			js := adminJS(t, srv.ClientURL())
			eventually(t, 20*time.Second, func() bool { _, err := js.Stream(t.Context(), events.StreamName); return err == nil }, "actuate did not start")
			publishDecision(t, js, e, 3, 3)

			ref := &externalscaler.ScaledObjectRef{Name: "tm", Namespace: "flink",
				ScalerMetadata: map[string]string{"cluster": cluster, "job": e.sim.JobID()}}
			for name, creds := range tt.allowed {
				c := kedaClient(t, acfg.KEDAListen, creds)
				eventually(t, 30*time.Second, func() bool {
					ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
					defer cancel()
					m, err := c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref, MetricName: "tm"})
					return err == nil && len(m.MetricValues) == 1 && m.MetricValues[0].MetricValueFloat == 3
				}, "%s: the scaler did not answer 3 TaskManagers", name)
			}
			for name, creds := range tt.refused {
				ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
				_, err := kedaClient(t, acfg.KEDAListen, creds).GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref, MetricName: "tm"})
				cancel()
				require.Error(t, err, "%s was served", name)
				t.Logf("%s: %s refused: %v", tt.name, name, err)
			}
		})
	}
}
