package station

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/packbench/packbench/queue"
)

// kindShipRefs maps a caller's package reference (ShipRequest.Reference)
// to the package made for it and the content it was asked with, so a
// retried Ship finds its package instead of labelling another. References
// are the bench's, not an order's: one names one package.
const kindShipRefs = "ship-refs" // reference → shipRef

// maxShipRefLen bounds ShipRequest.Reference.
const maxShipRefLen = 128

type shipRef struct {
	Key     string `json:"key"`     // the package's record key
	Content string `json:"content"` // shipContent of the request
}

// shipContent is the hex SHA-256 of what a Ship asks for, its reference
// aside: a retry must ask for the same.
func shipContent(req ShipRequest) string {
	req.Reference = ""
	b, _ := json.Marshal(req) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// lookupShipRef finds the package made for req.Reference: found is false
// when there is none; a reference given with other content is ErrConflict.
func lookupShipRef(tx *queue.Tx, req ShipRequest) (key string, found bool, err error) {
	var r shipRef
	if err := getJSON(tx, kindShipRefs, req.Reference, &r); errors.Is(err, queue.ErrNotFound) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	if r.Content != shipContent(req) {
		return "", false, fmt.Errorf("%w: reference %q was used for another package request (order, weight, dimensions or printer differ)", ErrConflict, req.Reference)
	}
	return r.Key, true, nil
}

// shippedByReference returns the labelled package an earlier Ship with
// the same reference and content made (done true): a retry gets it, with
// no new label and no new tracking number. A package still requested is
// resumed by ship as usual (done false); a voided one is ErrConflict.
func (s *Station) shippedByReference(req ShipRequest) (p Package, o Order, done bool, err error) {
	err = s.db.View(func(tx *queue.Tx) error {
		key, found, err := lookupShipRef(tx, req)
		if err != nil || !found {
			return err
		}
		if err := getJSON(tx, kindPackages, key, &p); err != nil {
			return err
		}
		switch p.Status {
		case PackageVoided:
			return fmt.Errorf("%w: package %s, made for reference %q, is voided", ErrConflict, p.Reference, req.Reference)
		case PackageRequested:
			return nil
		}
		liveJobStates(tx, &p)
		done = true
		return getJSON(tx, kindOrders, p.OrderID, &o)
	})
	return p, o, done, err
}

// claimShipRef ties req.Reference to the package reserve hands out, in
// reserve's transaction: the check is repeated there, since Ships of other
// orders (other locks) may name the same reference. A pending package that
// another reference asked for is taken over: that request never got its
// label, and its reference is free again.
func claimShipRef(tx *queue.Tx, req ShipRequest, p *Package) error {
	if p.ClientReference != "" && p.ClientReference != req.Reference {
		if err := tx.DeleteRecord(kindShipRefs, p.ClientReference); err != nil {
			return err
		}
	}
	p.ClientReference = req.Reference
	if req.Reference == "" {
		return nil
	}
	key := pkgKey(p.OrderID, p.Index)
	if prev, found, err := lookupShipRef(tx, req); err != nil {
		return err
	} else if found && prev != key {
		return fmt.Errorf("%w: reference %q names another package", ErrConflict, req.Reference)
	}
	return putJSON(tx, kindShipRefs, req.Reference, shipRef{Key: key, Content: shipContent(req)})
}
