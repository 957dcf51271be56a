//go:build !unix

package kubetest

// lockFile does not lock where flock is missing: two test binaries may then
// both build, and the atomic rename in goBuild keeps the result whole.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
