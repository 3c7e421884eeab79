package station

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/packbench/packbench/internal/textcheck"
)

// The Fulfil /label contract (seed 002): one set of types for both
// directions, the bench's http carrier sending it upstream and the API's
// POST /label serving it. Field names are the seed's. Members the seed
// shows as null are pointers (or omitted when empty), so the payload the
// http carrier sends keeps its shape.

// FulfilAddress is an address of the /label payload.
type FulfilAddress struct {
	Name              string  `json:"name"`
	Street1           string  `json:"street1"`
	Street2           string  `json:"street2"`
	City              string  `json:"city"`
	Zip               string  `json:"zip"`
	Country           string  `json:"country"`
	State             string  `json:"state"`
	Email             string  `json:"email"`
	Phone             string  `json:"phone"`
	Company           *string `json:"company"`
	ValidationStatus  *string `json:"validation_status"`
	AddressType       *string `json:"address_type"`
	TaxIdentification *string `json:"tax_identification"`
}

// FulfilLine is one line of a package.
type FulfilLine struct {
	SKU               string       `json:"sku"`
	Quantity          int          `json:"quantity"`
	ChannelIdentifier *string      `json:"channel_identifier,omitempty"`
	Weight            *json.Number `json:"weight,omitempty"`
	WeightUOM         string       `json:"weight_uom,omitempty"`
	UnitPrice         *json.Number `json:"unit_price,omitempty"`
	UOM               string       `json:"uom"`
}

// FulfilPackage is one parcel. Reference is the idempotency key the seed
// recommends.
type FulfilPackage struct {
	Length        *json.Number `json:"length"`
	Width         *json.Number `json:"width"`
	Height        *json.Number `json:"height"`
	DimensionUnit *string      `json:"dimension_unit"`
	Weight        json.Number  `json:"weight"`
	WeightUnit    string       `json:"weight_unit"`
	CarrierCode   *string      `json:"carrier_code,omitempty"`
	Machinable    *bool        `json:"machinable,omitempty"`
	// DHLDangerousGoods is dhl_ecommerce_dangerous_goods_category.
	DHLDangerousGoods *string      `json:"dhl_ecommerce_dangerous_goods_category,omitempty"`
	EasyshipCategory  *string      `json:"easyship_category,omitempty"`
	Description       string       `json:"description"`
	Amount            *json.Number `json:"amount,omitempty"`
	Quantity          *json.Number `json:"quantity,omitempty"`
	Reference         string       `json:"reference"`
	Lines             []FulfilLine `json:"lines"`
}

// FulfilCustomsItem is one item of a customs declaration.
type FulfilCustomsItem struct {
	Description            string          `json:"description"`
	Quantity               json.Number     `json:"quantity"`
	Value                  json.Number     `json:"value"`
	Currency               string          `json:"currency"`
	CompanyCurrency        string          `json:"company_currency,omitempty"`
	ValueInCompanyCurrency *json.Number    `json:"value_in_company_currency,omitempty"`
	Weight                 json.Number     `json:"weight"`
	WeightUnit             string          `json:"weight_unit"`
	HSCode                 *string         `json:"hs_code"`
	SKU                    *string         `json:"sku"`
	CountryOfOrigin        string          `json:"country_of_origin"`
	Options                json.RawMessage `json:"_options,omitempty"`
}

// FulfilCustoms is the customs declaration (null for domestic shipments).
type FulfilCustoms struct {
	CustomsCertify      bool                `json:"customs_certify"`
	ContentsType        string              `json:"contents_type"`
	CustomsSigner       *string             `json:"customs_signer"`
	ContentsExplanation string              `json:"contents_explanation"`
	NonDeliveryOption   string              `json:"non_delivery_option"`
	Items               []FulfilCustomsItem `json:"items"`
	Incoterm            *string             `json:"incoterm"`
	InvoiceNumber       *string             `json:"invoice_number"`
	EEL                 *string             `json:"eel"`
	PFC                 *string             `json:"pfc"`
	ExporterTaxIDType   *string             `json:"exporter_tax_id_type"`
	ExporterTaxID       *string             `json:"exporter_tax_id"`
	ExporterEORINumber  *string             `json:"exporter_eori_number"`
	// Importer has no shape in the seed (null in its example): kept as given.
	Importer json.RawMessage `json:"importer,omitempty"`
}

// FulfilCustomer is the buyer.
type FulfilCustomer struct {
	Email string `json:"email"`
}

// FulfilOptions are the shipment's options.
type FulfilOptions struct {
	Reference1          string       `json:"reference1"`
	Reference2          string       `json:"reference2,omitempty"`
	IsReturn            bool         `json:"is_return"`
	RequestConfirmation string       `json:"request_confirmation,omitempty"`
	InsuranceAmount     FulfilAmount `json:"insurance_amount,omitempty"`
	// LabelType is PNG (base64 in the answer) or ZPL (raw).
	LabelType string `json:"label_type"`
}

// FulfilLabelRequest is the body of POST /label.
type FulfilLabelRequest struct {
	AccountID   string          `json:"account_id"`
	ServiceCode string          `json:"service_code"`
	Origin      FulfilAddress   `json:"origin"`
	Destination FulfilAddress   `json:"destination"`
	Packages    []FulfilPackage `json:"packages"`
	Customs     *FulfilCustoms  `json:"customs"`
	Customer    FulfilCustomer  `json:"customer"`
	Options     FulfilOptions   `json:"options"`
}

// FulfilPackageLabel is one package of the answer.
type FulfilPackageLabel struct {
	TrackingNumber string `json:"tracking_number"`
	// Label is a base64 PNG, or raw ZPL when options.label_type is ZPL.
	Label       string `json:"label"`
	TrackingURL string `json:"tracking_url,omitempty"`
}

// FulfilLabelResponse is the answer to POST /label.
type FulfilLabelResponse struct {
	TrackingNumber    string               `json:"tracking_number"`
	TrackingURL       string               `json:"tracking_url,omitempty"`
	CarrierIdentifier string               `json:"carrier_identifier,omitempty"`
	Amount            FulfilAmount         `json:"amount"`
	Currency          string               `json:"currency,omitempty"`
	Packages          []FulfilPackageLabel `json:"packages"`
}

// FulfilAmount is a decimal amount. It is written as a string ("120.00")
// and read from a string or a number (120.0), as upstreams send either.
type FulfilAmount string

// UnmarshalJSON implements json.Unmarshaler.
func (a *FulfilAmount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = FulfilAmount(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("amount: want a string or a number")
	}
	*a = FulfilAmount(n.String())
	return nil
}

// Fulfil label types.
const (
	FulfilPNG = "PNG"
	FulfilZPL = "ZPL"
)

// fulfilCarriers are the seed's "supported carrier identifiers", the only
// values carrier_identifier may take.
var fulfilCarriers = []string{
	"ab_courrier", "abf", "aci", "ag_systems", "amazon_logistics", "amazon_mws", "apc", "apg", "aramex",
	"arrow_xl", "asendia", "asendia_hk", "asl", "australia_post", "axlehire_v3", "better_trucks", "blue_dart",
	"bni", "bopg", "boxberry", "boxc", "cainiao", "canada_post", "canpar", "cdl", "ceva", "china_ems",
	"china_post", "chronopost", "cirro", "colis_prive", "colissimo", "columbus_last_mile", "correios",
	"correos_chile", "correos_costa_rica", "couriers_please", "dai_post", "daylight_transport", "delhivery",
	"deliv", "deliverr", "deutsche_post", "dhl_ecommerce", "dhl_ecommerce_asia", "dhl_express", "dhl_freight",
	"dhl_germany", "dicom", "direct_freight", "direct_link", "dominos", "doordash", "doorman", "dpd", "dpduk",
	"dx", "ec_firstclass", "ecom_express", "estafeta", "estes", "evri", "fastway", "fed_ex_mailview",
	"fed_ex_same_day_city", "fed_ex_uk", "fedex", "fedex_smart_post", "first_mile", "flashbird", "flashbox",
	"flavor_cloud", "fleet_optics", "flexport", "flyt_express", "freipost", "fscf", "gfs", "global_e",
	"global_post", "globegistics", "gls", "go_people", "gso", "hermes", "high_energy_transport",
	"hong_kong_post", "ics", "india_post", "intelcom", "interlink_express", "international_bridge",
	"israel_post", "janco_freight", "jitsu", "jp_post", "kuroneko_yamato", "la_poste", "landmark_global",
	"laser_ship", "latvijas_pasts", "liefery", "loomis_express", "lso", "nanjing_woyuan", "network4",
	"newgistics", "ninja_van", "norco", "nova_poshta", "nz_post", "ocs_worldwide", "on_trac",
	"on_trac_direct_post", "orange_ds", "osm_worldwide", "parcelforce", "parcll", "passport", "pcf", "pilot",
	"pitney_bowes", "pos_malaysia", "post_nl", "post_nord", "posten", "postmates", "pro_carrier", "purolator",
	"rivo", "rl_carriers", "royal_mail", "rr_donnelley", "rsl", "seko", "sendle", "sf_express", "shipmonk",
	"singapore_post", "skip", "smsa_express", "spee_dee", "sprint_ship", "stallion_express", "star_track",
	"starlink", "store_to_door", "sunyou", "t_force", "taiwan_post", "tnt", "toll", "trexity", "truckload",
	"tuffnells", "ubi_smart_parcel", "uds", "ukrposhta", "unisrs", "uniuni", "ups", "ups_iparcel",
	"ups_mail_innovations", "usf_holland", "usps", "veho", "watkins_and_shepard", "whistl", "wizmo",
	"wn_direct", "x_delivery", "xdp", "yanwen", "yellow_freight", "yodel", "yun_express",
}

// IsFulfilCarrier says whether id is one of the seed's carrier identifiers.
func IsFulfilCarrier(id string) bool { return slices.Contains(fulfilCarriers, id) }

// FulfilCarriers returns the seed's carrier identifiers.
func FulfilCarriers() []string { return slices.Clone(fulfilCarriers) }

// Milligrams per unit of the seed's weight units (exact: 1 lb = 453.59237 g).
var fulfilWeightUnits = map[string]*big.Rat{
	"g":  big.NewRat(1000, 1),
	"kg": big.NewRat(1_000_000, 1),
	"lb": big.NewRat(45_359_237, 100),
	"oz": big.NewRat(45_359_237, 1600),
}

// weightFromFulfil converts a package weight to the bench's Weight: exact
// milligrams (rounded half up) and the display as sent ("7 lb").
func weightFromFulfil(path string, v json.Number, unit string) (Weight, error) {
	per, ok := fulfilWeightUnits[unit]
	if !ok {
		return Weight{}, fieldErr(path+".weight_unit", "want lb, oz, kg or g, not %q", unit)
	}
	r, ok := new(big.Rat).SetString(string(v))
	if v == "" || !ok || r.Sign() <= 0 {
		return Weight{}, fieldErr(path+".weight", "want a positive number, not %q", string(v))
	}
	mg := new(big.Rat).Mul(r, per)
	mg.Add(mg, big.NewRat(1, 2))
	n := new(big.Int).Quo(mg.Num(), mg.Denom())
	if !n.IsInt64() || n.Int64() < 1 || n.Int64() > maxWeightMg {
		return Weight{}, fieldErr(path+".weight", "want more than 0 and at most one tonne")
	}
	return Weight{Milligrams: n.Int64(), Display: string(v) + " " + unit, Unit: unit}, nil
}

// fulfilDimensions reads the optional dimensions: all three with a unit,
// or none.
func fulfilDimensions(path string, p FulfilPackage) (*Dimensions, error) {
	if p.Length == nil && p.Width == nil && p.Height == nil {
		return nil, nil
	}
	d := &Dimensions{}
	for _, f := range []struct {
		name string
		v    *json.Number
		dst  *string
	}{{"length", p.Length, &d.Length}, {"width", p.Width, &d.Width}, {"height", p.Height, &d.Height}} {
		if f.v == nil || !isDecimal(string(*f.v)) {
			return nil, fieldErr(path+"."+f.name, "want a positive number like 10.5 with the other two dimensions")
		}
		*f.dst = string(*f.v)
	}
	if p.DimensionUnit == nil || (*p.DimensionUnit != "in" && *p.DimensionUnit != "cm") {
		got := "null"
		if p.DimensionUnit != nil {
			got = fmt.Sprintf("%q", *p.DimensionUnit)
		}
		return nil, fieldErr(path+".dimension_unit", "want in or cm, not %s", got)
	}
	d.Unit = *p.DimensionUnit
	return d, nil
}

// address is the bench's Address of a Fulfil address.
func (a FulfilAddress) address() Address {
	out := Address{Name: a.Name, Street1: a.Street1, Street2: a.Street2, City: a.City, Zip: a.Zip,
		Country: strings.ToUpper(a.Country), State: a.State, Email: a.Email, Phone: a.Phone}
	if a.Company != nil {
		out.Company = *a.Company
	}
	return out
}

// toFulfil is the Fulfil address of a bench Address.
func toFulfil(a Address) FulfilAddress {
	f := FulfilAddress{Name: a.Name, Street1: a.Street1, Street2: a.Street2, City: a.City, Zip: a.Zip,
		Country: a.Country, State: a.State, Email: a.Email, Phone: a.Phone}
	if a.Company != "" {
		f.Company = &a.Company
	}
	return f
}

// FulfilConfig tunes the bench's own POST /label ([fulfil]).
type FulfilConfig struct {
	// ServiceCodes are the service_code values /label accepts; others are
	// a 400 naming service_code. Default: [carrier] service alone.
	ServiceCodes []string `toml:"service_codes" json:"service_codes"`
	// CarrierIdentifier is answered as carrier_identifier; it must be one
	// of the seed's identifiers ("usps", "ups", ...). Empty: not answered.
	CarrierIdentifier string `toml:"carrier_identifier" json:"carrier_identifier,omitempty"`
	// NoPrint issues labels without printing them (the caller prints).
	NoPrint bool `toml:"no_print" json:"no_print"`
}

func (f FulfilConfig) validate() error {
	for i, c := range f.ServiceCodes {
		if err := textcheck.ID(c, 64); err != nil {
			return fmt.Errorf("%w: fulfil.service_codes[%d]: %v", ErrConfig, i, err)
		}
	}
	if f.CarrierIdentifier != "" && !IsFulfilCarrier(f.CarrierIdentifier) {
		return fmt.Errorf("%w: fulfil.carrier_identifier: %q is not one of Fulfil's carrier identifiers (usps, ups, fedex, dhl_express, ...)", ErrConfig, f.CarrierIdentifier)
	}
	return nil
}
