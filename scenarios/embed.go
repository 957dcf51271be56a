// Package scenarios ships the scenario files (docs/scenarios.md)
// inside the binary, so commands that default to one work from any
// directory.
package scenarios

import _ "embed"

// Wordcount is wordcount.yaml, the demo's default scenario. It names no
// trace file, so it parses without a directory.
//
//go:embed wordcount.yaml
var Wordcount []byte

// WordcountName is the file name Wordcount was read from.
const WordcountName = "wordcount.yaml"
