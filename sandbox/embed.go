// Package sandbox ships the sources of the real-Flink sandbox (a Maven
// module: pom.xml and src/) inside the binary, so the jar can be built from
// any directory. internal/sandbox builds and runs it.
package sandbox

import "embed"

// Sources holds pom.xml and src/ of the Maven module.
//
//go:embed pom.xml src
var Sources embed.FS
