package main

import (
	"context"
	"errors"
)

// PLACEHOLDER(issue 5): replaced by the real subcommand.
func runWeigh(ctx context.Context, std *stdio, args []string) error {
	return errors.New("not built yet (issue 5)")
}
