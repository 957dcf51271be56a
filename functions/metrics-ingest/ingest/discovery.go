package ingest

import (
	"slices"

	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// pollItem is one job to poll in a cycle. Final marks the last poll of a job
// that ended or disappeared: its snapshot carries the terminal state and
// the job is then forgotten.
type pollItem struct {
	JobID string
	Name  string
	Final bool
}

// tracker remembers which jobs of one target this replica polls. It is not
// safe for concurrent use; one cycle at a time owns it.
//
//	listed state          known?  action
//	RUNNING               any     poll, remember
//	FINISHED/CANCELED/    yes     final poll, forget
//	  FAILED              no      skip
//	other (CREATED,       yes     poll (state shows the restart; metrics incomplete)
//	  RESTARTING, …)      no      skip until it runs
//	not listed            yes     final poll, forget
//	not owned any more    yes     forget (the new owner takes over)
type tracker struct {
	filter []string // job names or ids; empty means every job
	known  map[string]bool
}

func newTracker(filter []string) *tracker {
	return &tracker{filter: filter, known: map[string]bool{}}
}

// matches reports whether the target's job filter selects the job.
func (t *tracker) matches(j flink.JobOverview) bool {
	return len(t.filter) == 0 || slices.Contains(t.filter, j.ID) || slices.Contains(t.filter, j.Name)
}

// plan decides this cycle's polls from the JobManager's job list and the
// jobs this replica owns now, and updates what the tracker remembers.
func (t *tracker) plan(jobs []flink.JobOverview, owned func(jobID string) bool) []pollItem {
	var items []pollItem
	listed := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		if !t.matches(j) || listed[j.ID] {
			continue
		}
		listed[j.ID] = true
		if !owned(j.ID) {
			delete(t.known, j.ID)
			continue
		}
		switch {
		case j.State == flink.StateRunning:
			t.known[j.ID] = true
			items = append(items, pollItem{JobID: j.ID, Name: j.Name})
		case !t.known[j.ID]:
		case flink.GloballyTerminal(j.State):
			delete(t.known, j.ID)
			items = append(items, pollItem{JobID: j.ID, Name: j.Name, Final: true})
		default:
			items = append(items, pollItem{JobID: j.ID, Name: j.Name})
		}
	}
	for id := range t.known {
		if listed[id] {
			continue
		}
		delete(t.known, id)
		if owned(id) {
			items = append(items, pollItem{JobID: id, Final: true})
		}
	}
	return items
}

// jobs is the number of jobs the tracker remembers.
func (t *tracker) jobs() int { return len(t.known) }
