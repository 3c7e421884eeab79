package main

import (
	"context"
	"errors"
)

// PLACEHOLDER(issue 2): replaced by the real subcommand.
func runRender(ctx context.Context, std *stdio, args []string) error {
	return errors.New("not built yet (issue 2)")
}
