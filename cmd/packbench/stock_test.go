package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/packbench/packbench/station"
)

// TestStockCommand sets, adjusts, shows and lists the stock ledger of a
// real daemon.
func TestStockCommand(t *testing.T) {
	t.Setenv("PACKBENCH_API_KEY", "")
	t.Setenv("PACKBENCH_URL", "")
	t.Setenv("PACKBENCH_DATA_DIR", t.TempDir())
	dir := t.TempDir()
	url := runDaemon(t, dir)
	base := []string{"--url", url, "--data-dir", dir}
	run := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := cli(t, runStock, "", append(append([]string{}, base...), args...)...)
		return out, err
	}
	if out, err := run("set", "BOX/S", "12", "--reason", "count"); err != nil || !strings.Contains(out, "BOX/S") || !strings.Contains(out, "12") {
		t.Fatalf("set: %v %q", err, out)
	}
	if _, err := run("adjust", "BOX/S", "-5"); err != nil {
		t.Fatal(err)
	}
	out, err := run("BOX/S", "--json")
	var it station.StockItem
	if err != nil || json.Unmarshal([]byte(out), &it) != nil || it.SKU != "BOX/S" || it.Quantity != 7 {
		t.Fatalf("show: %v %q", err, out)
	}
	out, err = run("--json")
	var all []station.StockItem
	if err != nil || json.Unmarshal([]byte(out), &all) != nil || len(all) != 1 || all[0].Quantity != 7 {
		t.Fatalf("list: %v %q", err, out)
	}
	_, err = run("NOPE")
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("unknown SKU: %v", err)
	}
	if _, err := run("adjust", "BOX/S", "many"); err == nil || !strings.Contains(err.Error(), "DELTA") {
		t.Fatalf("bad delta: %v", err)
	}
	if _, err := run("set", "BOX/S"); !errors.Is(err, errUsage) {
		t.Fatalf("missing quantity: %v", err)
	}
}
