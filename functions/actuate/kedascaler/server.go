package kedascaler

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// Trigger metadata keys a ScaledObject sets to select a job.
const (
	KeyCluster = "cluster"
	KeyJob     = "job" // job id or job name
)

// MetricName is the one metric the scaler offers. With targetSizeFloat 1
// and the HPA's AverageValue, replicas = the desired TaskManager count.
const MetricName = "flink-desired-taskmanagers"

// Server implements KEDA's ExternalScaler from a View.
type Server struct {
	externalscaler.UnimplementedExternalScalerServer
	view *View
	log  *slog.Logger
	done chan struct{} // closed by Serve on shutdown; ends open streams
}

var _ externalscaler.ExternalScalerServer = (*Server)(nil)

// NewServer returns a scaler answering from view.
func NewServer(view *View, log *slog.Logger) *Server {
	return &Server{view: view, log: log, done: make(chan struct{})}
}

// Serve serves gRPC on lis (TLS when creds is not nil) until ctx ends, then
// ends the open streams and stops gracefully. It blocks; it returns the
// server's error, or nil after ctx ends.
func (s *Server) Serve(ctx context.Context, lis net.Listener, creds credentials.TransportCredentials) error {
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	g := grpc.NewServer(opts...)
	externalscaler.RegisterExternalScalerServer(g, s)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		close(s.done)
		g.GracefulStop()
	}()
	err := g.Serve(lis)
	if ctx.Err() != nil {
		<-stopped
		return nil
	}
	return err
}

// lookup resolves the job a ScaledObject names, as a gRPC status error.
func (s *Server) lookup(ref *externalscaler.ScaledObjectRef) (Desired, error) {
	md := ref.GetScalerMetadata()
	cluster, job := md[KeyCluster], md[KeyJob]
	if cluster == "" || job == "" {
		return Desired{}, status.Errorf(codes.InvalidArgument,
			"ScaledObject %s/%s: trigger metadata needs %q and %q (job id or name)",
			ref.GetNamespace(), ref.GetName(), KeyCluster, KeyJob)
	}
	d, err := s.view.Lookup(cluster, job)
	switch {
	case errors.Is(err, ErrNotFound):
		return Desired{}, status.Errorf(codes.NotFound,
			"no TaskManager count for cluster %q job %q: actuate has not seen the job in that cluster (its --flink JobManager) nor declared a count for it", cluster, job)
	case errors.Is(err, ErrNotReady):
		return Desired{}, status.Error(codes.Unavailable, err.Error())
	case err != nil:
		return Desired{}, status.Error(codes.Internal, err.Error())
	}
	return d, nil
}

func (s *Server) logErr(method string, ref *externalscaler.ScaledObjectRef, err error) {
	s.log.Debug("keda request refused", "method", method, "namespace", ref.GetNamespace(),
		"scaled_object", ref.GetName(), "reason", err.Error())
}

// IsActive is true while the job runs, as last seen live (every poll).
func (s *Server) IsActive(_ context.Context, ref *externalscaler.ScaledObjectRef) (*externalscaler.IsActiveResponse, error) {
	d, err := s.lookup(ref)
	if err != nil {
		s.logErr("IsActive", ref, err)
		return nil, err
	}
	return &externalscaler.IsActiveResponse{Result: d.Running}, nil
}

// StreamIsActive sends the job's activity at once and again whenever its
// desired count or running state changes, until the client goes away or the
// server stops.
func (s *Server) StreamIsActive(ref *externalscaler.ScaledObjectRef, stream externalscaler.ExternalScaler_StreamIsActiveServer) error {
	changed := s.view.Changed()
	last, err := s.lookup(ref)
	if err != nil {
		s.logErr("StreamIsActive", ref, err)
		return err
	}
	if err := stream.Send(&externalscaler.IsActiveResponse{Result: last.Running}); err != nil {
		return err
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case <-s.done:
			return nil
		case <-changed:
		}
		changed = s.view.Changed()
		d, err := s.lookup(ref)
		if err != nil {
			continue // deleted for now; keep the stream for its return
		}
		if d.TaskManagers == last.TaskManagers && d.Running == last.Running {
			continue
		}
		last = d
		if err := stream.Send(&externalscaler.IsActiveResponse{Result: d.Running}); err != nil {
			return err
		}
	}
}

func spec() *externalscaler.GetMetricSpecResponse {
	return &externalscaler.GetMetricSpecResponse{MetricSpecs: []*externalscaler.MetricSpec{
		{MetricName: MetricName, TargetSize: 1, TargetSizeFloat: 1},
	}}
}

// GetMetricSpec returns one metric with target 1.
func (s *Server) GetMetricSpec(_ context.Context, ref *externalscaler.ScaledObjectRef) (*externalscaler.GetMetricSpecResponse, error) {
	if _, err := s.lookup(ref); err != nil {
		s.logErr("GetMetricSpec", ref, err)
		return nil, err
	}
	return spec(), nil
}

// StreamMetricSpec sends the (constant) spec once, as GetMetricSpec answers
// it, and holds the stream open until the client goes away or the server
// stops.
func (s *Server) StreamMetricSpec(ref *externalscaler.ScaledObjectRef, stream externalscaler.ExternalScaler_StreamMetricSpecServer) error {
	if _, err := s.lookup(ref); err != nil {
		s.logErr("StreamMetricSpec", ref, err)
		return err
	}
	if err := stream.Send(spec()); err != nil {
		return err
	}
	select {
	case <-stream.Context().Done():
	case <-s.done:
	}
	return nil
}

// GetMetrics answers the desired TaskManager count.
func (s *Server) GetMetrics(_ context.Context, req *externalscaler.GetMetricsRequest) (*externalscaler.GetMetricsResponse, error) {
	d, err := s.lookup(req.GetScaledObjectRef())
	if err != nil {
		s.logErr("GetMetrics", req.GetScaledObjectRef(), err)
		return nil, err
	}
	name := req.GetMetricName()
	if name == "" {
		name = MetricName
	}
	return &externalscaler.GetMetricsResponse{MetricValues: []*externalscaler.MetricValue{
		{MetricName: name, MetricValue: int64(d.TaskManagers), MetricValueFloat: float64(d.TaskManagers)},
	}}, nil
}
