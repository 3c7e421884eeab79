package main

import (
	"context"
	"errors"
)

// PLACEHOLDER(issue 4): replaced by the real subcommand.
func runPrinters(ctx context.Context, std *stdio, args []string) error {
	return errors.New("not built yet (issue 4)")
}
