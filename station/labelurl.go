package station

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/packbench/packbench/queue"
)

// Label URLs are capabilities: whoever has one can fetch that label, with
// no key (Shopify Flow, a printer, an e-mail). The token is 192 random
// bits; the index is keyed by its SHA-256, so neither a key lookup's timing
// nor a copy of the file's keys gives a token away.
const (
	kindLabelURLs    = "label-urls"     // hex sha256(token) → package reference
	kindLabelURLRefs = "label-url-refs" // package reference → token (the same URL on every answer)
	labelTokenBytes  = 24
	// LabelTokenLen is the length of a label URL token (base64url).
	LabelTokenLen = (labelTokenBytes*8 + 5) / 6
)

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// labelToken returns the URL token of a package's label, making one the
// first time (inside tx).
func labelToken(tx *queue.Tx, ref string) (string, error) {
	if v, err := tx.GetRecord(kindLabelURLRefs, ref); err == nil {
		return string(v), nil
	} else if !errors.Is(err, queue.ErrNotFound) {
		return "", err
	}
	var b [labelTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("label token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	if err := tx.PutRecord(kindLabelURLs, tokenDigest(tok), []byte(ref)); err != nil {
		return "", err
	}
	return tok, tx.PutRecord(kindLabelURLRefs, ref, []byte(tok))
}

// deleteLabelToken drops the URL of a package's label (the order's data is
// deleted).
func deleteLabelToken(tx *queue.Tx, ref string) error {
	v, err := tx.GetRecord(kindLabelURLRefs, ref)
	if errors.Is(err, queue.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := tx.DeleteRecord(kindLabelURLs, tokenDigest(string(v))); err != nil {
		return err
	}
	return tx.DeleteRecord(kindLabelURLRefs, ref)
}

// LabelURLToken returns the token of the capability URL of a labelled
// package's label (one per package, made on first use). id is anything
// Package accepts.
func (s *Station) LabelURLToken(ctx context.Context, id string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var tok string
	err := s.db.Update(func(tx *queue.Tx) error {
		_, p, err := loadPackage(tx, id)
		if err != nil {
			return err
		}
		if p.Status != PackageLabelled {
			return fmt.Errorf("%w: package %s is %s", ErrConflict, p.Reference, p.Status)
		}
		tok, err = labelToken(tx, p.Reference)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("station: label URL of %q: %w", id, notFound(err))
	}
	return tok, nil
}

// validToken says whether tok has the shape of a label token; anything
// else is refused before the file is read.
func validToken(tok string) bool { return len(tok) == LabelTokenLen && tokenChars(tok) }

// tokenChars reports whether s holds only URL-safe base64 characters, as
// the bench's random tokens (label URLs, the Shopify callback) do.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// LabelByToken returns the label a URL token names, as "zpl", "png" or
// "pdf" (a label that came as a PDF).
// A token that is unknown, or whose package was voided or deleted, or
// whose label is past retention, is ErrNotFound: voiding a label revokes
// its URL.
func (s *Station) LabelByToken(ctx context.Context, token, format string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validToken(token) {
		return nil, fmt.Errorf("station: label URL: %w", ErrNotFound)
	}
	var ref string
	err := s.db.View(func(tx *queue.Tx) error {
		v, err := tx.GetRecord(kindLabelURLs, tokenDigest(token))
		if err != nil {
			return err
		}
		ref = string(v)
		_, p, err := loadPackage(tx, ref)
		if err != nil {
			return err
		}
		if p.Status != PackageLabelled {
			return fmt.Errorf("%w: this label was %s", ErrNotFound, p.Status)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("station: label URL: %w", notFound(err))
	}
	switch format {
	case "zpl":
		return s.LabelZPL(ctx, ref)
	case "png":
		return s.LabelPNG(ctx, ref)
	case "pdf":
		// Only a label that came as a PDF has one.
		b, _, err := s.labelRecord(ctx, ref, ".pdf")
		if errors.Is(err, ErrNoPreview) {
			err = fmt.Errorf("%w: this label did not come as a PDF", ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("station: label URL: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("station: label URL: %w: format %q (want zpl, png or pdf)", ErrNotFound, format)
}
