package station

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/packbench/packbench/queue"
)

// Flow credentials are the client id / client secret pairs a Shopify Flow
// HTTP action (or any automation) sends instead of the API key. Only the
// secret's SHA-256 is stored: the secret is 256 random bits, so a plain
// hash is as good as a slow one, and it is shown once, at creation.
const (
	kindFlowCreds     = "flow-credentials" // client id → flowCredRecord
	flowClientPrefix  = "pbf_"
	flowSecretPrefix  = "pbs_"
	maxFlowCreds      = 100
	maxFlowCredName   = 64
	flowIDBytes       = 12
	flowSecretBytes   = 32
	maxFlowClientIDLn = 64
)

// FlowCredential is a credential as listed: never its secret.
type FlowCredential struct {
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// NewFlowCredential is a credential just created, with its secret: the
// only time the secret is shown.
type NewFlowCredential struct {
	FlowCredential
	ClientSecret string `json:"client_secret"`
}

type flowCredRecord struct {
	FlowCredential
	SecretSHA256 string `json:"secret_sha256"`
}

func randomText(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateFlowCredential makes a named credential (name: 1 to 64 printable
// characters). At most 100 exist at a time.
func (s *Station) CreateFlowCredential(ctx context.Context, name string) (NewFlowCredential, error) {
	if err := ctx.Err(); err != nil {
		return NewFlowCredential{}, err
	}
	if name == "" {
		return NewFlowCredential{}, fmt.Errorf("station: create flow credential: %w", fieldErr("name", "required"))
	}
	if err := checkText("name", name, maxFlowCredName); err != nil {
		return NewFlowCredential{}, fmt.Errorf("station: create flow credential: %w", err)
	}
	id, err := randomText(flowClientPrefix, flowIDBytes)
	if err != nil {
		return NewFlowCredential{}, fmt.Errorf("station: create flow credential: %w", err)
	}
	secret, err := randomText(flowSecretPrefix, flowSecretBytes)
	if err != nil {
		return NewFlowCredential{}, fmt.Errorf("station: create flow credential: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	rec := flowCredRecord{FlowCredential: FlowCredential{ClientID: id, Name: name, CreatedAt: s.clock.Now().UTC()}, SecretSHA256: hex.EncodeToString(sum[:])}
	err = s.db.Update(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindFlowCreds, queue.RecordPage{})
		if err != nil {
			return err
		}
		if len(recs) >= maxFlowCreds {
			return fmt.Errorf("%w: there are already %d flow credentials: delete one first", ErrConflict, len(recs))
		}
		if err := tx.CheckSpace(); err != nil {
			return err
		}
		return putJSON(tx, kindFlowCreds, id, rec)
	})
	if err != nil {
		return NewFlowCredential{}, fmt.Errorf("station: create flow credential: %w", err)
	}
	s.log.Info("flow credential created", "client_id", id, "name", name)
	return NewFlowCredential{FlowCredential: rec.FlowCredential, ClientSecret: secret}, nil
}

// FlowCredentials lists the credentials, oldest first, without secrets.
func (s *Station) FlowCredentials(ctx context.Context) ([]FlowCredential, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []FlowCredential{}
	err := s.db.View(func(tx *queue.Tx) error {
		recs, err := listJSON[flowCredRecord](tx, kindFlowCreds)
		for _, c := range recs {
			out = append(out, c.FlowCredential)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("station: flow credentials: %w", err)
	}
	// Keys are random: creation order is the answer's order.
	slices.SortStableFunc(out, func(a, b FlowCredential) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// DeleteFlowCredential deletes a credential: its secret stops working at
// once.
func (s *Station) DeleteFlowCredential(ctx context.Context, clientID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.deleteRecord(kindFlowCreds, clientID); err != nil {
		return fmt.Errorf("station: delete flow credential %q: %w", clientID, err)
	}
	s.log.Info("flow credential deleted", "client_id", clientID)
	return nil
}

// CheckFlowCredential reports whether secret is the secret of clientID.
// The secret is compared in constant time over SHA-256 digests; an unknown
// client id costs the same comparison.
func (s *Station) CheckFlowCredential(ctx context.Context, clientID, secret string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ok, err := s.secretMatches(kindFlowCreds, clientID, clientID != "" && len(clientID) <= maxFlowClientIDLn, secret)
	if err != nil {
		return false, fmt.Errorf("station: check flow credential: %w", err)
	}
	return ok, nil
}

// secretMatches reports whether secret's SHA-256 is the digest stored in
// the record kind/id (its "secret_sha256"), compared in constant time; an
// unknown or malformed id (idOK false) costs the same comparison.
func (s *Station) secretMatches(kind, id string, idOK bool, secret string) (bool, error) {
	want := make([]byte, sha256.Size) // an unknown id compares against zeros
	if idOK {
		err := s.db.View(func(tx *queue.Tx) error {
			var rec struct {
				SecretSHA256 string `json:"secret_sha256"`
			}
			if err := getJSON(tx, kind, id, &rec); err != nil {
				return err
			}
			if b, err := hex.DecodeString(rec.SecretSHA256); err == nil && len(b) == sha256.Size {
				want = b
			}
			return nil
		})
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			return false, err
		}
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1 && secret != "", nil
}

// deleteRecord deletes the record kind/id; ErrNotFound when there is none.
func (s *Station) deleteRecord(kind, id string) error {
	return notFound(s.db.Update(func(tx *queue.Tx) error {
		if _, err := tx.GetRecord(kind, id); err != nil {
			return err
		}
		return tx.DeleteRecord(kind, id)
	}))
}

// listJSON decodes every record of kind.
func listJSON[T any](tx *queue.Tx, kind string) ([]T, error) {
	recs, err := tx.ListRecords(kind, queue.RecordPage{})
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil, fmt.Errorf("decode %s %q: %w", kind, r.Key, err)
		}
		out = append(out, v)
	}
	return out, nil
}
