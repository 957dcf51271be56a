// Package schemacheck validates JSON documents against the events' JSON
// Schemas (internal/events/schemas, the published contract) with a full
// JSON Schema engine. Tests and tools use it; the functions validate with
// the events package's own, faster checks and do not link it.
package schemacheck

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ErrInvalid wraps a document the schema refuses.
var ErrInvalid = errors.New("does not match its schema")

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Validate validates data against the schema in file of fsys. Errors wrap
// ErrInvalid and name each failing location, on one line.
func Validate(fsys fs.FS, file string, data []byte) error {
	sch, err := schema(fsys, file)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %v", ErrInvalid, err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, flatten(err))
	}
	return nil
}

// schema compiles file once.
func schema(fsys fs.FS, file string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[file]; ok {
		return s, nil
	}
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", file, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := "https://flinkscaler.io/" + file
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", file, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", file, err)
	}
	compiled[file] = s
	return s, nil
}

var english = message.NewPrinter(language.English)

// flatten turns a validation error into one line of its leaf causes.
func flatten(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var parts []string
	for _, leaf := range leaves(ve) {
		parts = append(parts, "/"+strings.Join(leaf.InstanceLocation, "/")+": "+leaf.ErrorKind.LocalizedString(english))
	}
	return strings.Join(parts, "; ")
}

func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}
