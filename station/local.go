package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// Tracking number schemes of the local carrier.
const (
	SchemeSSCC     = "sscc"
	SchemeSequence = "sequence"
)

// Record kinds and counters the local carrier keeps in the queue file.
const (
	kindLocalNumbers = "carrier-local" // package reference → LabelResult (idempotency)
	counterSSCC      = "station.sscc"
	counterSequence  = "station.sequence"
)

// LocalCarrier is the offline carrier: tracking numbers from a durable
// counter (SSCC-18 or prefix + sequence + check digit), cost from the rate
// table, the tracking URL from the template. It returns no label: the
// station lays it out.
type LocalCarrier struct {
	db    *queue.DB
	cfg   CarrierConfig
	bands []compiledBand
}

// NewLocalCarrier checks cfg (with defaults applied) and returns the carrier.
func NewLocalCarrier(db *queue.DB, cfg CarrierConfig) (*LocalCarrier, error) {
	full := Config{Carrier: cfg}.WithDefaults().Carrier
	full.Kind = CarrierLocal
	if err := full.validateLocal(); err != nil {
		return nil, err
	}
	bands, _ := compileRates(full.Rates)
	return &LocalCarrier{db: db, cfg: full, bands: bands}, nil
}

// Label implements Carrier. The number for a reference is committed with
// the counter in one transaction, so asking again for the same reference
// returns the same number.
func (c *LocalCarrier) Label(ctx context.Context, req LabelRequest) (LabelResult, error) {
	if err := ctx.Err(); err != nil {
		return LabelResult{}, err
	}
	var res LabelResult
	err := c.db.Batch(func(tx *queue.Tx) error { // sets res only: safe to rerun
		var err error
		res, err = c.labelTx(tx, req)
		return err
	})
	if err != nil {
		return LabelResult{}, err
	}
	return res, nil
}

// labelTx numbers and prices the package inside tx (see txCarrier).
func (c *LocalCarrier) labelTx(tx *queue.Tx, req LabelRequest) (LabelResult, error) {
	amount, err := c.Rate(req.To, req.Weight.Milligrams)
	if err != nil {
		return LabelResult{}, err
	}
	var res LabelResult
	if v, err := tx.GetRecord(kindLocalNumbers, req.Reference); err == nil {
		if err := json.Unmarshal(v, &res); err != nil {
			return LabelResult{}, fmt.Errorf("local carrier: number of %s: %w", req.Reference, err)
		}
	} else if !errors.Is(err, queue.ErrNotFound) {
		return LabelResult{}, fmt.Errorf("local carrier: number of %s: %w", req.Reference, err)
	} else {
		if res, err = c.next(tx); err != nil {
			return LabelResult{}, fmt.Errorf("local carrier: number %s: %w", req.Reference, err)
		}
		v, err := json.Marshal(res)
		if err != nil {
			return LabelResult{}, err
		}
		if err := tx.PutRecord(kindLocalNumbers, req.Reference, v); err != nil {
			return LabelResult{}, fmt.Errorf("local carrier: number %s: %w", req.Reference, err)
		}
	}
	res.Amount = amount
	if amount != "" {
		res.Currency = c.cfg.Currency
	}
	res.Carrier = c.cfg.Name
	res.TrackingURL = trackingURL(c.cfg.TrackingURL, res.TrackingNumber)
	return res, nil
}

// next takes the next number of the configured scheme.
func (c *LocalCarrier) next(tx *queue.Tx) (LabelResult, error) {
	var res LabelResult
	if c.cfg.Scheme == SchemeSSCC {
		n, err := tx.NextCounter(counterSSCC)
		if err != nil {
			return res, err
		}
		sscc, err := SSCC(c.cfg.Extension, c.cfg.GS1Prefix, n)
		if err != nil {
			return res, err
		}
		res.TrackingNumber, res.Barcode, res.BarcodeData = sscc, labelrender.GS1128, "(00)"+sscc
		return res, nil
	}
	n, err := tx.NextCounter(counterSequence)
	if err != nil {
		return res, err
	}
	res.TrackingNumber, err = sequenceNumber(c.cfg.Prefix, n, c.cfg.Digits, c.cfg.Check)
	res.Barcode = labelrender.Code128
	return res, err
}

// Rate prices a parcel from the rate table: "" when the table has no
// bands; a *CarrierError when the weight is above the last band or the
// zone has no price.
func (c *LocalCarrier) Rate(to Address, mg int64) (string, error) {
	if len(c.bands) == 0 {
		return "", nil
	}
	zone := c.cfg.Rates.zoneFor(to)
	for _, b := range c.bands {
		if mg <= b.upTo {
			p, ok := b.prices[zone]
			if !ok {
				return "", &CarrierError{Carrier: CarrierLocal, Message: fmt.Sprintf("the rate table has no price for zone %q up to %s", zone, c.cfg.Rates.Bands[len(c.bands)-1].UpTo)}
			}
			return formatMoney(p), nil
		}
	}
	last := c.cfg.Rates.Bands[len(c.bands)-1].UpTo
	return "", &CarrierError{Carrier: CarrierLocal, Message: fmt.Sprintf("the parcel is heavier than the rate table allows (%s)", last)}
}

// zoneFor picks the first matching zone rule, else the default zone.
func (t RateTable) zoneFor(to Address) string {
	for _, z := range t.Zones {
		if len(z.Countries) > 0 && !containsFold(z.Countries, to.Country) {
			continue
		}
		if len(z.ZipPrefixes) > 0 {
			ok := false
			for _, p := range z.ZipPrefixes {
				if strings.HasPrefix(to.Zip, p) {
					ok = true
					break
				}
			}
			if !ok {
				continue
			}
		}
		return z.Zone
	}
	return t.DefaultZone
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func trackingURL(template, tracking string) string {
	if template == "" || tracking == "" {
		return ""
	}
	return strings.ReplaceAll(template, "{tracking}", tracking)
}

// SSCC builds an SSCC-18: the extension digit, the GS1 company prefix, the
// serial reference (zero-padded to fill 17 digits) and the GS1 mod-10
// check digit (labelrender.GS1CheckDigit). The serial must fit the digits
// the prefix leaves.
func SSCC(extension int, companyPrefix string, serial uint64) (string, error) {
	if extension < 0 || extension > 9 {
		return "", fmt.Errorf("%w: sscc extension %d: want 0-9", ErrInvalid, extension)
	}
	if n := len(companyPrefix); n < 7 || n > 10 || !isDigits(companyPrefix) {
		return "", fmt.Errorf("%w: sscc company prefix %q: want 7 to 10 digits", ErrInvalid, companyPrefix)
	}
	width := 16 - len(companyPrefix)
	s := strconv.FormatUint(serial, 10)
	if len(s) > width {
		return "", fmt.Errorf("%w: sscc serial %d does not fit %d digits: the company prefix's numbers are used up", ErrInvalid, serial, width)
	}
	body := strconv.Itoa(extension) + companyPrefix + strings.Repeat("0", width-len(s)) + s
	return body + strconv.Itoa(labelrender.GS1CheckDigit(body)), nil
}

// sequenceNumber is prefix + the zero-padded sequence + its check digit.
func sequenceNumber(prefix string, n uint64, digits int, check string) (string, error) {
	s := strconv.FormatUint(n, 10)
	if len(s) > digits {
		return "", fmt.Errorf("%w: sequence %d does not fit %d digits", ErrInvalid, n, digits)
	}
	s = strings.Repeat("0", digits-len(s)) + s
	if check == "mod10" {
		s += strconv.Itoa(labelrender.GS1CheckDigit(s))
	}
	return prefix + s, nil
}
