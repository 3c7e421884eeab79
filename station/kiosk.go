package station

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/packbench/packbench/queue"
)

// Kiosk tokens let the screen on the bench work without the API key: the
// admin makes a short pairing code, the screen redeems it once and gets a
// token of its own that may only do what a packer does (scan, weigh,
// reprint; the API decides which routes). Only the secret's SHA-256 is
// stored (256 random bits: a plain hash is as good as a slow one); the
// token is shown once, to the screen that paired.
//
// Pairing codes live in memory only: a restart voids them, which is what a
// code valid for minutes should do. They are 8 digits (typed with gloves
// on a number pad), single use, compared in constant time, and every
// pending code is voided after MaxPairingFailures wrong guesses, so a
// guesser gets at most that many tries per code the admin makes.
const (
	kindKioskTokens   = "kiosk-tokens" // kiosk id → kioskRecord
	KioskTokenPrefix  = "pbk_"         // how a kiosk token starts (the API tells it from a key by it)
	kioskIDBytes      = 8              // hex in the token: no "_" inside
	kioskSecretBytes  = 32
	maxKiosks         = 50
	maxKioskName      = 64
	PairingCodeDigits = 8
	// PairingTTL is how long a pairing code is valid.
	PairingTTL = 5 * time.Minute
	// MaxPairingFailures wrong codes void every pending code.
	MaxPairingFailures = 10
	maxPendingCodes    = 5
)

// Kiosk is a paired screen as listed: never its token.
type Kiosk struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// NewKiosk is a kiosk just paired, with its token: the only time the
// token is shown.
type NewKiosk struct {
	Kiosk
	Token string `json:"token"`
}

// PairingCode is a code just made for pairing a screen.
type PairingCode struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at"`
}

type kioskRecord struct {
	Kiosk
	SecretSHA256 string `json:"secret_sha256"`
}

// pairingBook holds the pending pairing codes (hashed) and the wrong
// guesses since the last code was made.
type pairingBook struct {
	mu       sync.Mutex
	pending  []pendingCode
	failures int
}

type pendingCode struct {
	sum     [sha256.Size]byte
	name    string
	expires time.Time
}

// NewPairingCode makes a pairing code valid for PairingTTL. name (0 to 64
// printable characters; default "Bench screen") is the name the paired
// kiosk gets. At most 5 codes are pending at a time: the oldest goes.
func (s *Station) NewPairingCode(ctx context.Context, name string) (PairingCode, error) {
	if err := ctx.Err(); err != nil {
		return PairingCode{}, err
	}
	if name == "" {
		name = "Bench screen"
	}
	if err := checkText("name", name, maxKioskName); err != nil {
		return PairingCode{}, fmt.Errorf("new pairing code: %w", err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return PairingCode{}, fmt.Errorf("new pairing code: %w", err)
	}
	// 2^64 mod 10^8 skews the digits by less than 10^-10: no matter.
	code := fmt.Sprintf("%0*d", PairingCodeDigits, binary.BigEndian.Uint64(b[:])%100_000_000)
	now := s.clock.Now()
	pc := PairingCode{Code: code, Name: name, ExpiresAt: now.Add(PairingTTL).UTC()}
	pb := &s.pairing
	pb.mu.Lock()
	pb.pending = slices.DeleteFunc(pb.pending, func(p pendingCode) bool { return !now.Before(p.expires) })
	if len(pb.pending) >= maxPendingCodes {
		pb.pending = pb.pending[1:]
	}
	pb.pending = append(pb.pending, pendingCode{sum: sha256.Sum256([]byte(code)), name: name, expires: now.Add(PairingTTL)})
	pb.failures = 0
	pb.mu.Unlock()
	s.log.Info("kiosk pairing code made", "name", name, "expires", pc.ExpiresAt)
	return pc, nil
}

// Pair redeems a pairing code: a known, unexpired code is used up and a
// kiosk token is made. A wrong or expired code returns ErrNotFound; after
// MaxPairingFailures wrong codes every pending code is void.
func (s *Station) Pair(ctx context.Context, code string) (NewKiosk, error) {
	if err := ctx.Err(); err != nil {
		return NewKiosk{}, err
	}
	code = strings.Join(strings.Fields(code), "") // "1234 5678" as shown
	sum := sha256.Sum256([]byte(code))
	now := s.clock.Now()
	pb := &s.pairing
	pb.mu.Lock()
	hit := -1
	for i, p := range pb.pending {
		// Every pending code is compared, in constant time each.
		if subtle.ConstantTimeCompare(sum[:], p.sum[:]) == 1 && now.Before(p.expires) && hit < 0 {
			hit = i
		}
	}
	var name string
	if hit >= 0 {
		name = pb.pending[hit].name
		pb.pending = slices.Delete(pb.pending, hit, hit+1)
	} else {
		pb.failures++
		if pb.failures >= MaxPairingFailures && len(pb.pending) > 0 {
			pb.pending = nil
			s.log.Warn("kiosk pairing: too many wrong codes: every pending code is void; make a new one", "failures", pb.failures)
		}
	}
	pb.mu.Unlock()
	if hit < 0 {
		return NewKiosk{}, fmt.Errorf("pair: %w: the code is wrong, used or expired: make a new one on the admin page", ErrNotFound)
	}
	k, err := s.createKiosk(name)
	if err != nil {
		return NewKiosk{}, fmt.Errorf("pair: %w", err)
	}
	s.log.Info("kiosk paired", "kiosk", k.ID, "name", name)
	return k, nil
}

func (s *Station) createKiosk(name string) (NewKiosk, error) {
	idb := make([]byte, kioskIDBytes)
	if _, err := rand.Read(idb); err != nil {
		return NewKiosk{}, err
	}
	id := hex.EncodeToString(idb)
	secret, err := randomText("", kioskSecretBytes)
	if err != nil {
		return NewKiosk{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	rec := kioskRecord{Kiosk: Kiosk{ID: id, Name: name, CreatedAt: s.clock.Now().UTC()}, SecretSHA256: hex.EncodeToString(sum[:])}
	err = s.db.Update(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindKioskTokens, queue.RecordPage{})
		if err != nil {
			return err
		}
		if len(recs) >= maxKiosks {
			return fmt.Errorf("%w: there are already %d paired screens: revoke one first", ErrConflict, len(recs))
		}
		if err := tx.CheckSpace(); err != nil {
			return err
		}
		return putJSON(tx, kindKioskTokens, id, rec)
	})
	if err != nil {
		return NewKiosk{}, err
	}
	return NewKiosk{Kiosk: rec.Kiosk, Token: KioskTokenPrefix + id + "_" + secret}, nil
}

// Kiosks lists the paired screens, oldest first, without tokens.
func (s *Station) Kiosks(ctx context.Context) ([]Kiosk, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []Kiosk{}
	err := s.db.View(func(tx *queue.Tx) error {
		recs, err := listJSON[kioskRecord](tx, kindKioskTokens)
		for _, k := range recs {
			out = append(out, k.Kiosk)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kiosks: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Kiosk) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// RevokeKiosk deletes a kiosk token: it stops working at once.
func (s *Station) RevokeKiosk(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.deleteRecord(kindKioskTokens, id); err != nil {
		return fmt.Errorf("revoke kiosk %q: %w", id, err)
	}
	s.log.Info("kiosk token revoked", "kiosk", id)
	return nil
}

// CheckKioskToken returns the kiosk id of a valid kiosk token ("" and
// false when it is not one). The secret is compared in constant time over
// SHA-256 digests; an unknown id costs the same comparison.
func (s *Station) CheckKioskToken(ctx context.Context, token string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	rest, ok := strings.CutPrefix(token, KioskTokenPrefix)
	id, secret, _ := strings.Cut(rest, "_")
	match, err := s.secretMatches(kindKioskTokens, id, ok && len(id) == 2*kioskIDBytes, secret)
	if err != nil {
		return "", false, fmt.Errorf("check kiosk token: %w", err)
	}
	if !match {
		return "", false, nil
	}
	return id, true, nil
}
