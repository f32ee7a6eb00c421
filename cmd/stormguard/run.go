package main

import (
	"context"
	"errors"
	"io"
)

func runDaemon(ctx context.Context, args []string, out io.Writer) error { return errors.New("not built yet") }
func runCheck(ctx context.Context, args []string, out io.Writer) error  { return errors.New("not built yet") }
