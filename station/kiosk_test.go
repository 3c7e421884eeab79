package station

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
)

func TestKioskPairing(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()

	pc, err := st.NewPairingCode(ctx, "Bench 3")
	if err != nil {
		t.Fatal(err)
	}
	if len(pc.Code) != PairingCodeDigits || strings.Trim(pc.Code, "0123456789") != "" || !pc.ExpiresAt.Equal(clk.Now().Add(PairingTTL)) {
		t.Fatalf("code %+v", pc)
	}
	// Typed as shown, with a space in the middle.
	k, err := st.Pair(ctx, pc.Code[:4]+" "+pc.Code[4:])
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "Bench 3" || !strings.HasPrefix(k.Token, KioskTokenPrefix) || len(k.Token) < 60 {
		t.Fatalf("kiosk %+v", k)
	}
	// Single use.
	if _, err := st.Pair(ctx, pc.Code); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second use: %v", err)
	}
	id, ok, err := st.CheckKioskToken(ctx, k.Token)
	if err != nil || !ok || id != k.ID {
		t.Fatalf("check: %q %v %v", id, ok, err)
	}
	for _, bad := range []string{"", KioskTokenPrefix, k.Token + "x", k.Token[:len(k.Token)-1], KioskTokenPrefix + k.ID + "_", strings.Replace(k.Token, k.ID, "0000000000000000", 1)} {
		if _, ok, err := st.CheckKioskToken(ctx, bad); ok || err != nil {
			t.Fatalf("check %q: %v %v", bad, ok, err)
		}
	}
	// Only the secret's digest is stored: the token is nowhere in the file.
	var raw []string
	db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindKioskTokens, queue.RecordPage{})
		for _, r := range recs {
			raw = append(raw, string(r.Value))
		}
		return err
	})
	// The id is hex; the secret (base64url) may hold "_" itself.
	_, secret, _ := strings.Cut(strings.TrimPrefix(k.Token, KioskTokenPrefix), "_")
	if len(raw) != 1 || len(secret) != 43 || strings.Contains(raw[0], secret) {
		t.Fatalf("stored %q", raw)
	}

	// Survives a restart; revoked, refused at once.
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	if _, ok, _ := st.CheckKioskToken(ctx, k.Token); !ok {
		t.Fatal("token refused after a reopen")
	}
	ks, err := st.Kiosks(ctx)
	if err != nil || len(ks) != 1 || ks[0].ID != k.ID {
		t.Fatalf("list %+v %v", ks, err)
	}
	if err := st.RevokeKiosk(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.CheckKioskToken(ctx, k.Token); ok {
		t.Fatal("revoked token accepted")
	}
	if err := st.RevokeKiosk(ctx, k.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}

func TestPairingCodeExpires(t *testing.T) {
	clk := newClock()
	st := newStation(t, openDB(t, t.TempDir(), clk), clk, Config{})
	ctx := context.Background()
	pc, err := st.NewPairingCode(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(PairingTTL - time.Second)
	pc2, err := st.NewPairingCode(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, err := st.Pair(ctx, pc.Code); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired code: %v", err)
	}
	k, err := st.Pair(ctx, pc2.Code)
	if err != nil || k.Name != "Bench screen" {
		t.Fatalf("fresh code: %+v %v", k, err)
	}
}

func TestPairingGuessesVoidTheCodes(t *testing.T) {
	clk := newClock()
	st := newStation(t, openDB(t, t.TempDir(), clk), clk, Config{})
	ctx := context.Background()
	pc, err := st.NewPairingCode(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wrong := func(i int) string {
		g := []byte(pc.Code)
		g[i%len(g)] = '0' + (g[i%len(g)]-'0'+1)%10
		return string(g)
	}
	for i := range MaxPairingFailures {
		if _, err := st.Pair(ctx, wrong(i)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := st.Pair(ctx, pc.Code); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the right code after %d wrong guesses: %v", MaxPairingFailures, err)
	}
	// A new code resets the count: a few wrong guesses do not void it.
	pc, err = st.NewPairingCode(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxPairingFailures - 1 {
		st.Pair(ctx, wrong(i))
	}
	if _, err := st.Pair(ctx, pc.Code); err != nil {
		t.Fatalf("the right code after %d wrong guesses: %v", MaxPairingFailures-1, err)
	}
}
