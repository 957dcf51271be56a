package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("publish", "publish --cluster C --job J --name N --value V [--vertex ID] [--unit U]", stderr)
	conn := natsFlags(fs, "publish")
	cluster := fs.String("cluster", "", "cluster name (required)")
	job := fs.String("job", "", "job id (32 hex) or job name token (required)")
	name := fs.String("name", "", "metric name: lag or pendingRecords, a source's backlog (required)")
	value := fs.String("value", "", "metric value, a finite number (required)")
	vertex := fs.String("vertex", "", "source vertex id or name the backlog is of (optional when the job has one source)")
	unit := fs.String("unit", "", "records (default), seconds or ms")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := metricFromFlags(*cluster, *job, *name, *value, *vertex, *unit)
	if err != nil {
		return err
	}
	ev, err := events.New(events.TypeMetric, "publish", m.Cluster, m.Job, m)
	if err != nil {
		return err
	}
	nc, js, err := events.Connect(*conn)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := events.Publish(ctx, js, ev); err != nil {
		return fmt.Errorf("%w (is the %s stream provisioned? start 'flinkscaler nats' or any function first)", err, events.StreamName)
	}
	subject, _ := events.SubjectOf(ev)
	fmt.Fprintf(stdout, "published %s %s=%s%s on %s (id %s)\n", events.TypeMetric, m.Name,
		strconv.FormatFloat(m.Value, 'g', -1, 64), unitSuffix(m.Unit), subject, ev.ID())
	return nil
}

// metricFromFlags validates the publish flags and reports every problem.
func metricFromFlags(cluster, job, name, value, vertex, unit string) (events.Metric, error) {
	var problems []string
	if !events.ValidToken(cluster) {
		problems = append(problems, fmt.Sprintf("--cluster %q: use 1-128 letters, digits, '-' or '_'", cluster))
	}
	if !events.ValidToken(job) {
		problems = append(problems, fmt.Sprintf("--job %q: give the 32-hex job id or a name of letters, digits, '-' or '_'", job))
	}
	if name == "" || len(name) > 256 {
		problems = append(problems, "--name: required, at most 256 characters")
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || v != v || v > 1e308 || v < -1e308 {
		problems = append(problems, fmt.Sprintf("--value %q: must be a finite number", value))
	}
	m := events.Metric{Cluster: cluster, Job: job, Name: name, Value: v, Unit: unit, Vertex: vertex, ObservedAt: time.Now().UTC()}
	if len(problems) == 0 {
		// Only what decide uses is published: anything else would be
		// dropped there (see README "Your own metrics").
		var de *events.MetricDropError
		if err := events.CheckUserMetric(m); errors.As(err, &de) {
			problems = append(problems, de.Detail)
		}
	}
	if len(problems) > 0 {
		return events.Metric{}, errors.New(strings.Join(problems, "; "))
	}
	return m, nil
}

func unitSuffix(unit string) string {
	if unit == "" {
		return ""
	}
	return " " + unit
}
