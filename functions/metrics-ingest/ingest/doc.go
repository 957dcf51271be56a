// Package ingest is metrics-ingest: it polls Flink JobManagers over REST and
// publishes one io.flinkscaler.job.snapshot.v1 event per job per interval.
//
// # Cycle
//
// Every interval (default 10 s) a replica, for each target (cluster name +
// JobManager URL + optional job filter):
//
//  1. lists the jobs (GET /jobs/overview) and reads the cluster overview
//     (TaskManagers, total and free slots);
//  2. plans its polls (see tracker): RUNNING jobs it owns; jobs it already
//     polls that are restarting or waiting for resources (their snapshots
//     show the state and are incomplete); one final poll of a job that
//     reached FINISHED, CANCELED or FAILED or vanished from the list;
//  3. for each job reads GET /jobs/:jobid (topology, parallelism, max
//     parallelism, slot-sharing group, timestamps.RUNNING) and, while the job
//     runs, each vertex's subtask metrics, listed first and then aggregated
//     (avg, max, sum), because Flink answers [] to an aggregated request
//     when any requested metric is missing;
//  4. builds the snapshot (a pure function: a missing, NaN, infinite or
//     negative value stays nil and is listed in Incomplete; nothing is
//     replaced by zero) and publishes it on NATS JetStream.
//
// Each Flink call is tried up to Attempts times with doubling backoff while
// it fails with a retryable error, never past the interval; then the job
// waits for the next interval. Every failed try is counted by kind.
//
// # Horizontal scaling
//
// Replicas split the jobs by rendezvous hashing: the owner of a job is the
// live member with the highest score(member, "<cluster>/<jobID>") (see
// owner). Members are the keys of the KV bucket flinkscaler_ingest_members,
// where each replica puts its id every interval/3 and whose TTL is one
// interval; a replica that stops cleanly deletes its key. Each replica lists
// the members at the start of every cycle, so the jobs of a replica that
// died are taken over at most TTL + one interval (two intervals) after its
// last heartbeat, and a job is polled by one replica except during the one
// cycle in which replicas may disagree about a membership change. Every
// replica lists the jobs of every target (one cheap request per target);
// only the owner polls a job.
package ingest
