//go:build race

package bench_test

// raceDetector is true in a binary built with -race: the race detector
// slows the benchmark's virtual-time runs five- to tenfold, so the
// multi-seed invariant check runs in its own step without it (.ci/run).
const raceDetector = true
