package flinksim

import (
	"encoding/json"
	"io"
	"net/http"
)

// The emulator's own control endpoints, under ControlPrefix (never a Flink
// path):
//
//	GET  /flinksim/v1/taskmanagers       → taskManagersState
//	PUT  /flinksim/v1/taskmanagers       {"replicas": N} → taskManagersState
//	GET  /flinksim/v1/groundtruth        → the model's exact state

type taskManagersState struct {
	Replicas            int `json:"replicas"`
	Registered          int `json:"registered"`
	SlotsPerTaskManager int `json:"slotsPerTaskManager"`
	MaxTaskManagers     int `json:"maxTaskManagers"`
}

type replicasRequest struct {
	Replicas *int `json:"replicas"`
}

func (c *Cluster) serveControl(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "taskmanagers" && r.Method == http.MethodGet:
		writeBody(w)(ok(c.taskManagersState()))
	case path == "taskmanagers" && r.Method == http.MethodPut:
		var req replicasRequest
		data, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err == nil {
			err = json.Unmarshal(data, &req)
		}
		if err != nil || req.Replicas == nil || *req.Replicas < 0 {
			writeBody(w)(restError(http.StatusBadRequest, `body must be {"replicas": N} with N >= 0`))
			return
		}
		c.SetTaskManagers(*req.Replicas)
		writeBody(w)(ok(c.taskManagersState()))
	case path == "groundtruth" && r.Method == http.MethodGet:
		writeBody(w)(ok(truthJSON(c.GroundTruth())))
	default:
		writeBody(w)(notFound(r))
	}
}

func (c *Cluster) taskManagersState() taskManagersState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return taskManagersState{
		Replicas: len(c.tms), Registered: c.registeredTaskManagers(),
		SlotsPerTaskManager: c.sc.Cluster.SlotsPerTaskManager, MaxTaskManagers: c.sc.Cluster.MaxTaskManagers,
	}
}

// truthJSON renders a GroundTruth with JSON-safe lag (+Inf as "Infinity").
func truthJSON(gt GroundTruth) map[string]any {
	vertices := make([]map[string]any, len(gt.Vertices))
	for i, v := range gt.Vertices {
		vertices[i] = map[string]any{
			"id": v.ID, "name": v.Name, "parallelism": v.Parallelism, "requirement": v.Requirement,
			"capacity": v.Capacity, "recordsInPerSecond": v.RecordsInPerSecond,
			"recordsOutPerSecond": v.RecordsOutPerSecond, "saturated": v.Saturated,
			"backPressured": v.BackPressured, "maxBusyMsPerSecond": v.MaxBusyMsPerSecond, "backlog": v.Backlog,
		}
	}
	return map[string]any{
		"time": gt.Time, "elapsedSeconds": gt.Elapsed.Seconds(), "state": gt.State,
		"offeredRate": gt.OfferedRate, "taskManagers": gt.TaskManagers,
		"registeredTaskManagers": gt.RegisteredTaskManagers, "idleTaskManagers": gt.IdleTaskManagers, "slotsTotal": gt.SlotsTotal,
		"slotsInUse": gt.SlotsInUse, "backlog": gt.Backlog, "lagSeconds": jsonFloat(gt.LagSeconds),
		"restarts": gt.Restarts, "downtimeSeconds": gt.Downtime.Seconds(), "vertices": vertices,
	}
}
