package main

import (
	"context"
	"errors"
	"io"
)

func runWatch(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not built yet")
}
