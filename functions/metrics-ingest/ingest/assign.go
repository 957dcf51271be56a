package ingest

import (
	"hash/fnv"
)

// owner returns the member that polls key (cluster/job id), by rendezvous
// (highest random weight) hashing: every member scores score(member, key)
// and the highest score wins, ties to the smaller member id. Every replica
// that sees the same member list computes the same owner without talking to
// the others; when a member leaves, only its keys move, each to the member
// with its next highest score, and a new member takes about 1/n of the keys.
// It returns "" when members is empty.
func owner(members []string, key string) string {
	best, bestScore := "", uint64(0)
	for _, m := range members {
		s := score(m, key)
		if best == "" || s > bestScore || (s == bestScore && m < best) {
			best, bestScore = m, s
		}
	}
	return best
}

// score is FNV-1a over member, a 0 byte and key, through the splitmix64
// finalizer so that similar member names spread evenly.
func score(member, key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(member))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// assignKey is the rendezvous key of a job.
func assignKey(cluster, jobID string) string { return cluster + "/" + jobID }
