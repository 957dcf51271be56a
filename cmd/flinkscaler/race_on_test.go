//go:build race

package main

// raceDetector is true in a binary built with -race: the race detector
// slows the benchmark's virtual-time runs five- to tenfold, so the tests
// that run `bench` as documented run in .ci/run's step without it.
const raceDetector = true
