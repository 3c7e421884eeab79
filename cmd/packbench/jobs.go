package main

import (
	"context"
	"errors"
)

// PLACEHOLDER(issue 3): replaced by the real subcommand.
func runJobs(ctx context.Context, std *stdio, args []string) error {
	return errors.New("not built yet (issue 3)")
}
