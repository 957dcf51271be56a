//go:build !race

package bench_test

// raceDetector is true in a binary built with -race (race_on_test.go).
const raceDetector = false
