package events

import (
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// Summary renders an event as one readable line: time, short type, cluster,
// job and the gist of its data. It never fails; undecodable data is said
// to be so.
func Summary(ev cloudevents.Event) string {
	cluster, _ := ev.Extensions()[ExtCluster].(string)
	job := ev.Subject()
	p, err := decodePayload(ev.Type(), ev.Data())
	if err == nil {
		if c, j := p.owner(); c != "" {
			cluster, job = c, j
		}
	}
	at := ev.Time()
	if at.IsZero() {
		at = time.Now()
	}
	head := fmt.Sprintf("%s %-9s %s/%s", at.UTC().Format("15:04:05.000"), shortType(ev.Type()), cluster, shortJob(job))
	if err != nil {
		return head + "  (" + err.Error() + ")"
	}
	return head + "  " + gist(p)
}

func shortType(t string) string {
	for typ, kind := range kindOf {
		if typ == t {
			return kind
		}
	}
	return t
}

func shortJob(job string) string {
	if len(job) == 32 {
		return job[:8]
	}
	return job
}

func gist(p payload) string {
	switch d := p.(type) {
	case *Snapshot:
		return snapshotGist(d)
	case *Metric:
		s := fmt.Sprintf("%s=%g %s", d.Name, d.Value, d.Unit)
		if d.Vertex != "" {
			s += " vertex " + d.Vertex
		}
		return strings.TrimSpace(s)
	case *Decision:
		return decisionGist(d)
	case *Result:
		s := fmt.Sprintf("%s decision %s in %d steps", d.Outcome, shortJob(d.DecisionID), len(d.Steps))
		if d.Error != "" {
			s += ": " + d.Error
		}
		return s
	case *Rejected:
		return fmt.Sprintf("by %s on %s: %s", d.Function, d.Subject, d.Reason)
	}
	return ""
}

func snapshotGist(s *Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s TMs=%d slots=%d/%d", s.JobName, s.JobState, s.TaskManagers, s.SlotsTotal-s.SlotsFree, s.SlotsTotal)
	for _, v := range s.Vertices {
		fmt.Fprintf(&b, " | %s p=%d", v.Name, v.Parallelism)
		if v.BusyMsPerSecond != nil {
			fmt.Fprintf(&b, " busy=%.0f%%", v.BusyMsPerSecond.Avg/10)
		}
		if v.RecordsInPerSecond != nil {
			fmt.Fprintf(&b, " in=%s/s", humanRate(*v.RecordsInPerSecond))
		}
		if v.PendingRecords != nil {
			fmt.Fprintf(&b, " pending=%s", humanRate(*v.PendingRecords))
		}
	}
	if !s.Complete {
		fmt.Fprintf(&b, " (incomplete: %s)", strings.Join(s.Incomplete, ", "))
	}
	return b.String()
}

func decisionGist(d *Decision) string {
	var parts []string
	for _, v := range d.Vertices {
		if v.Current != v.Target {
			parts = append(parts, fmt.Sprintf("%s %d→%d", v.Name, v.Current, v.Target))
		}
	}
	s := fmt.Sprintf("%s [%s] TMs %d→%d %s", d.JobName, d.Mode, d.TaskManagers.Current, d.TaskManagers.Target, strings.Join(parts, ", "))
	if d.DryRun {
		s += " (dry run)"
	}
	if d.Rationale != "" {
		s += ": " + d.Rationale
	}
	return s
}

// humanRate prints 1234 as 1.2k and 2500000 as 2.5M.
func humanRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
