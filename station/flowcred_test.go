package station

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/packbench/packbench/queue"
)

func TestFlowCredentials(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	a, err := st.CreateFlowCredential(ctx, "Shopify Flow")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(1)
	b, err := st.CreateFlowCredential(ctx, "ERP")
	if err != nil {
		t.Fatal(err)
	}
	if a.ClientID == b.ClientID || a.ClientSecret == b.ClientSecret || len(a.ClientSecret) < 43 {
		t.Fatalf("credentials %+v %+v", a, b)
	}
	// Only the secret's digest is stored.
	err = db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindFlowCreds, queue.RecordPage{})
		for _, r := range recs {
			if strings.Contains(string(r.Value), a.ClientSecret) || strings.Contains(string(r.Value), b.ClientSecret) {
				t.Errorf("a secret is stored in the clear: %s", r.Value)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	list, err := st.FlowCredentials(ctx)
	if err != nil || len(list) != 2 || list[0] != a.FlowCredential || list[1] != b.FlowCredential {
		t.Fatalf("list after reopen: %+v %v", list, err)
	}
	for _, c := range []struct {
		id, secret string
		ok         bool
	}{
		{a.ClientID, a.ClientSecret, true},
		{b.ClientID, b.ClientSecret, true},
		{a.ClientID, b.ClientSecret, false},
		{a.ClientID, a.ClientSecret + "x", false},
		{a.ClientID, "", false},
		{"", a.ClientSecret, false},
		{"pbf_unknown", a.ClientSecret, false},
	} {
		if ok, err := st.CheckFlowCredential(ctx, c.id, c.secret); err != nil || ok != c.ok {
			t.Errorf("check %q %q: %v %v, want %v", c.id, c.secret, ok, err, c.ok)
		}
	}
	if err := st.DeleteFlowCredential(ctx, a.ClientID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.CheckFlowCredential(ctx, a.ClientID, a.ClientSecret); ok {
		t.Fatal("a deleted credential still works")
	}
	if err := st.DeleteFlowCredential(ctx, a.ClientID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	for _, name := range []string{"", strings.Repeat("n", 65), "bad\x00name"} {
		var fe *FieldError
		if _, err := st.CreateFlowCredential(ctx, name); !errors.As(err, &fe) || fe.Field != "name" {
			t.Errorf("name %q: %v", name, err)
		}
	}
}
