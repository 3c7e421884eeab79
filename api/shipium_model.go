package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// The Shipium Pack App order (seed 001), field for field. Every member is
// nullable as in the seed's examples (which send and echo null), so the
// answer echoes what was sent and null for what was not.

// ShipiumOrderRequest is the body of POST /api/v1/packShip/order.
type ShipiumOrderRequest struct {
	FulfillmentType            *string                    `json:"fulfillmentType"`
	OrderSource                *string                    `json:"orderSource"`
	PartnerOrderID             *string                    `json:"partnerOrderId"`
	AssociatedIdentifiers      []string                   `json:"associatedIdentifiers"`
	TenantID                   *string                    `json:"tenantId"`
	OrderedDateTime            *string                    `json:"orderedDateTime"`
	OrderItemQuantities        []ShipiumItem              `json:"orderItemQuantities"`
	ShipFromAddress            *ShipiumAddress            `json:"shipFromAddress"`
	OriginID                   *string                    `json:"originId"`
	DestinationAddress         *ShipiumAddress            `json:"destinationAddress"`
	ShipOption                 *string                    `json:"shipOption"`
	CustomsInfo                *ShipiumCustomsInfo        `json:"customsInfo"`
	TotalDeclaredValue         *ShipiumDeclaredValue      `json:"totalDeclaredValue"`
	OrderFulfillmentParameters *ShipiumFulfillmentOptions `json:"orderFulfillmentParameters"`
}

// ShipiumItem is one of orderItemQuantities.
type ShipiumItem struct {
	OrderItemReferenceIdentifier *string            `json:"orderItemReferenceIdentifier"`
	Hazmat                       *bool              `json:"hazmat"`
	HazmatInfo                   *ShipiumHazmatInfo `json:"hazmatInfo"`
	ProductTaxCode               *string            `json:"productTaxCode"`
	NmfcCode                     *string            `json:"nmfcCode"`
	NmfcFreightClass             *string            `json:"nmfcFreightClass"`
	ProductID                    *string            `json:"productId"`
	Quantity                     *int32             `json:"quantity"`
	// ProductDetails is typed String in the seed but described as a list
	// of properties: a string or an array of strings, echoed as given.
	ProductDetails json.RawMessage `json:"productDetails"`
}

// ShipiumHazmatInfo is orderItemQuantities[].hazmatInfo.
type ShipiumHazmatInfo struct {
	Category               *string  `json:"category"`
	Quantity               *float64 `json:"quantity"`
	QuantityType           *string  `json:"quantityType"`
	QuantityUnits          *string  `json:"quantityUnits"`
	ContainerType          *string  `json:"containerType"`
	HazmatID               *string  `json:"hazmatId"`
	ProperShippingName     *string  `json:"properShippingName"`
	PackingGroup           *string  `json:"packingGroup"`
	TransportMode          *string  `json:"transportMode"`
	PackingInstructionCode *string  `json:"packingInstructionCode"`
	HazardClass            *string  `json:"hazardClass"`
	SubsidiaryClasses      *string  `json:"subsidiaryClasses"`
}

// ShipiumAddress is shipFromAddress, destinationAddress and
// customsInfo.ultimateConsigneeAddress.
type ShipiumAddress struct {
	Name                   *string                   `json:"name"`
	PhoneNumber            *string                   `json:"phoneNumber"`
	PhoneNumberCountryCode *string                   `json:"phoneNumberCountryCode"`
	EmailAddress           *string                   `json:"emailAddress"`
	Company                *string                   `json:"company"`
	Street1                *string                   `json:"street1"`
	Street2                *string                   `json:"street2"`
	City                   *string                   `json:"city"`
	State                  *string                   `json:"state"`
	CountryCode            *string                   `json:"countryCode"`
	PostalCode             *string                   `json:"postalCode"`
	AddressType            *string                   `json:"addressType"`
	AddressLineComponents  *ShipiumAddressComponents `json:"addressLineComponents"`
}

// ShipiumAddressComponents replace street1 and street2 (Mexican addresses).
type ShipiumAddressComponents struct {
	StreetName             *string `json:"streetName"`
	PrimaryAddressNumber   *string `json:"primaryAddressNumber"`
	SecondaryAddressNumber *string `json:"secondaryAddressNumber"`
	District               *string `json:"district"`
	Neighborhood           *string `json:"neighborhood"`
}

// ShipiumCustomsInfo is customsInfo.
type ShipiumCustomsInfo struct {
	TotalCustomsValue            *float64                  `json:"totalCustomsValue"`
	TotalCustomsValueCurrency    *string                   `json:"totalCustomsValueCurrency"`
	CustomsDescription           *string                   `json:"customsDescription"`
	ReasonForExport              *string                   `json:"reasonForExport"`
	InvoiceDate                  *string                   `json:"invoiceDate"`
	InvoiceNumber                *string                   `json:"invoiceNumber"`
	EuropeanUnionInfo            *ShipiumEUInfo            `json:"europeanUnionInfo"`
	UltimateConsigneeAddress     *ShipiumAddress           `json:"ultimateConsigneeAddress"`
	UltimateConsigneeType        *string                   `json:"ultimateConsigneeType"`
	AesInternalTransactionNumber *string                   `json:"aesInternalTransactionNumber"`
	ElectronicExportInformation  *ShipiumExportInformation `json:"electronicExportInformation"`
	B13AFilingOption             *string                   `json:"b13AFilingOption"`
	ExportComplianceStatement    *string                   `json:"exportComplianceStatement"`
	PermitNumber                 *string                   `json:"permitNumber"`
	CustomsItems                 []ShipiumCustomsItem      `json:"customsItems"`
	Incoterm                     *string                   `json:"incoterm"`
}

// ShipiumEUInfo is customsInfo.europeanUnionInfo.
type ShipiumEUInfo struct {
	VendorIossNumber *string `json:"vendorIossNumber"`
}

// ShipiumExportInformation is customsInfo.electronicExportInformation.
type ShipiumExportInformation struct {
	ExportDate    *string `json:"exportDate"`
	PointOfOrigin *string `json:"pointOfOrigin"`
}

// ShipiumCustomsItem is one of customsInfo.customsItems.
type ShipiumCustomsItem struct {
	CustomsValue                         *float64                `json:"customsValue"`
	CustomsValueCurrency                 *string                 `json:"customsValueCurrency"`
	CommodityDescription                 *string                 `json:"commodityDescription"`
	CountryOfManufacture                 *string                 `json:"countryOfManufacture"`
	CustomsWeight                        *ShipiumWeight          `json:"customsWeight"`
	Quantity                             *int32                  `json:"quantity"`
	ProductID                            *string                 `json:"productId"`
	QuantityUnitOfMeasurement            *string                 `json:"quantityUnitOfMeasurement"`
	HarmonizedTariffNumber               *string                 `json:"harmonizedTariffNumber"`
	CommodityPartNumber                  *string                 `json:"commodityPartNumber"`
	MarksAndNumbers                      *string                 `json:"marksAndNumbers"`
	ElectronicExportCommodityInformation *ShipiumExportCommodity `json:"electronicExportCommodityInformation"`
	B13AFilingOption                     *string                 `json:"b13AFilingOption"`
	ExportComplianceStatement            *string                 `json:"exportComplianceStatement"`
}

// ShipiumExportCommodity is customsItems[].electronicExportCommodityInformation.
type ShipiumExportCommodity struct {
	ExportType               *string                   `json:"exportType"`
	ExportInformationCode    *string                   `json:"exportInformationCode"`
	ScheduleBInformation     *ShipiumScheduleB         `json:"scheduleBInformation"`
	EccnNumber               *string                   `json:"eccnNumber"`
	ExportLicenseInformation *ShipiumExportLicenseInfo `json:"exportLicenseInformation"`
}

// ShipiumScheduleB is …electronicExportCommodityInformation.scheduleBInformation.
type ShipiumScheduleB struct {
	ScheduleBNumber            *string `json:"scheduleBNumber"`
	ScheduleBQuantity          *int32  `json:"scheduleBQuantity"`
	ScheduleBUnitOfMeasurement *string `json:"scheduleBUnitOfMeasurement"`
}

// ShipiumExportLicenseInfo is …electronicExportCommodityInformation.exportLicenseInformation.
type ShipiumExportLicenseInfo struct {
	LicenseType          *string               `json:"licenseType"`
	LicenseExemptionCode *string               `json:"licenseExemptionCode"`
	ExportLicense        *ShipiumExportLicense `json:"exportLicense"`
}

// ShipiumExportLicense is …exportLicenseInformation.exportLicense.
type ShipiumExportLicense struct {
	LicenseNumber     *string `json:"licenseNumber"`
	LicenseLineValue  *int64  `json:"licenseLineValue"`
	LicenseExpiration *string `json:"licenseExpiration"`
}

// ShipiumDeclaredValue is totalDeclaredValue.
type ShipiumDeclaredValue struct {
	DeclaredValue *float64 `json:"declaredValue"`
	CurrencyCode  *string  `json:"currencyCode"`
}

// ShipiumFulfillmentOptions is orderFulfillmentParameters.
type ShipiumFulfillmentOptions struct {
	SaturdayDelivery       *bool             `json:"saturdayDelivery"`
	ThirdPartyBillingSetID *string           `json:"thirdPartyBillingSetId"`
	ForceThirdPartyBilling *bool             `json:"forceThirdPartyBilling"`
	FulfillmentContext     *string           `json:"fulfillmentContext"`
	FulfillmentContextID   *string           `json:"fulfillmentContextId"`
	PackagingType          *ShipiumPackaging `json:"packagingType"`
	TotalWeight            *ShipiumWeight    `json:"totalWeight"`
}

// ShipiumPackaging is orderFulfillmentParameters.packagingType.
type ShipiumPackaging struct {
	PackagingMaterial *string                  `json:"packagingMaterial"`
	PackagingSizeName *string                  `json:"packagingSizeName"`
	PackagingTypeID   *string                  `json:"packagingTypeId"`
	LinearDimensions  *ShipiumLinearDimensions `json:"linearDimensions"`
	PackagingWeight   *ShipiumWeight           `json:"packagingWeight"`
}

// ShipiumLinearDimensions is packagingType.linearDimensions.
type ShipiumLinearDimensions struct {
	LinearUnit *string  `json:"linearUnit"`
	Length     *float64 `json:"length"`
	Width      *float64 `json:"width"`
	Height     *float64 `json:"height"`
}

// ShipiumWeight is a weight with its unit.
type ShipiumWeight struct {
	WeightUnit *string  `json:"weightUnit"`
	Weight     *float64 `json:"weight"`
}

// ShipiumOrder is the answer of the Pack App order routes: the order as
// created, with the ids and status the bench gives it.
type ShipiumOrder struct {
	ShipiumOrderID string `json:"shipiumOrderId"`
	ShipiumOrderRequest
	OrderItemQuantities []ShipiumOrderItem `json:"orderItemQuantities"`
	// OrderStatus is the bench order's status: open, partial, shipped or
	// cancelled (the seed names the field, not its values).
	OrderStatus string `json:"orderStatus"`
}

// ShipiumOrderItem is an item of the answer.
type ShipiumOrderItem struct {
	ShipiumOrderID     string  `json:"shipiumOrderId"`
	PartnerOrderID     *string `json:"partnerOrderId"`
	DeliveryEstimateID string  `json:"deliveryEstimateId"`
	ShipiumItem
}

// The seed's enumerations.
var (
	shipiumFulfillmentTypes = []string{"customer", "at_large", "returns", "hundredweight", "reship"}
	shipiumOrderSources     = []string{"Shipium", "External"}
	shipiumHazmatCategories = []string{"defined", "contains_lithium_ion", "packaged_lithium_ion", "lithium_ion_battery_only",
		"contains_lithium_metal", "packaged_lithium_metal", "lithium_metal_battery_only", "dry_ice"}
	shipiumQuantityTypes  = []string{"gross", "net"}
	shipiumQuantityUnits  = []string{"g", "kg", "lb", "oz", "ml", "l"}
	shipiumContainerTypes = []string{"fiberboard_box", "wooden_box", "plastic_jerrican", "metal_box", "steel_drum", "other",
		"plastic_box", "plastic_drum", "styrofoam_box", "cylinder", "envirotainer", "plywood_box", "aluminum_drum",
		"aluminum_cylinder", "plastic_pail", "plywood_drum", "fiber_drum", "steel_jerrican", "aluminum_jerrican",
		"steel_box", "carton", "aluminum_box"}
	shipiumPackingGroups  = []string{"i", "ii", "iii"}
	shipiumTransportModes = []string{"ground", "passenger_and_cargo_aircraft", "cargo_aircraft_only"}
	shipiumHazardClasses  = []string{"class_1_explosive", "class_2_flammable_gas", "class_3_flammable_liquid", "class_4_flammable_solid",
		"class_5_organic_peroxide", "class_6_poisonous_material", "class_7_radioactive", "class_8_corrosive_material", "class_9_miscellaneous"}
	shipiumAddressTypes     = []string{"commercial", "residential"}
	shipiumReasonsForExport = []string{"sale", "gift", "sample", "returns", "personal_effects"}
	shipiumConsigneeTypes   = []string{"direct_consumer", "government_entity", "reseller"}
	shipiumB13AOptions      = []string{"not_required", "manually_attached", "filed_electronically", "summary_reporting", "carrier_to_stamp"}
	shipiumWeightUnits      = []string{"g", "kg", "lb", "oz"}
	shipiumQuantityUOMs     = []string{"bag", "barrel", "box", "case_of_goods", "container", "crate", "cylinder", "envelope",
		"pallet", "piece", "roll", "tube"}
	shipiumExportTypes   = []string{"domestic", "foreign"}
	shipiumScheduleBUOMs = []string{"barrels", "carat", "content_kilogram", "square_centimeter", "content_ton", "curie",
		"clean_yield_kilogram", "dozen", "dozen_pieces", "dozen_pairs", "fiber_meter", "gross_container", "gram", "gross",
		"hundred", "kilogram", "cubic_kilometer", "kilogram_total_sugars", "liter", "meter", "square_meter", "cubic_meter",
		"millicurie", "number", "pieces", "proof_liter", "pack", "pairs", "running_bales", "square", "ton", "thousand",
		"no_quantity_required"}
	shipiumIncoterms          = []string{"ddp", "ddu", "dap", "dpu", "fca"}
	shipiumPackagingMaterials = []string{"box", "envelope", "flat_pack", "mailing_tube", "parcel_pallet"}
	shipiumLinearUnits        = []string{"cm", "in"}
	// No B13A filing is needed towards these (seed: customsInfo.b13AFilingOption).
	shipiumB13AExempt = []string{"CA", "US", "PR", "VI"}
)

// shipiumCheck is the context a rule sees: the order and where it ships
// from (the bench's own ship-from country when originId is used).
type shipiumCheck struct {
	o        *ShipiumOrderRequest
	originCC string // upper case; "" unknown
	destCC   string
	intl     bool
}

// shipiumViolation is a broken rule: the full camelCase path and why.
type shipiumViolation struct{ path, msg string }

// shipiumRule is one rule of the seed's tables.
type shipiumRule struct {
	id    string // stable name (tests)
	check func(c *shipiumCheck) *shipiumViolation
}

func violation(path, format string, args ...any) *shipiumViolation {
	return &shipiumViolation{path, fmt.Sprintf(format, args...)}
}

// shipiumRules are the rules of the seed's request table, in the order
// they are checked; the first broken one is the answer.
var shipiumRules = []shipiumRule{
	{"fulfillmentType.required", func(c *shipiumCheck) *shipiumViolation { return required("fulfillmentType", c.o.FulfillmentType) }},
	{"fulfillmentType.enum", func(c *shipiumCheck) *shipiumViolation {
		return enum("fulfillmentType", c.o.FulfillmentType, shipiumFulfillmentTypes)
	}},
	{"orderSource.required", func(c *shipiumCheck) *shipiumViolation { return required("orderSource", c.o.OrderSource) }},
	{"orderSource.enum", func(c *shipiumCheck) *shipiumViolation {
		// The table says Shipium/External, the examples send "external".
		if v := c.o.OrderSource; v != nil && !containsFold(shipiumOrderSources, *v) {
			return violation("orderSource", "want one of %s (any case), got %q", strings.Join(shipiumOrderSources, ", "), *v)
		}
		return nil
	}},
	{"partnerOrderId.notEmpty", func(c *shipiumCheck) *shipiumViolation { return notEmpty("partnerOrderId", c.o.PartnerOrderID) }},
	{"associatedIdentifiers.notEmpty", func(c *shipiumCheck) *shipiumViolation {
		for i, v := range c.o.AssociatedIdentifiers {
			if strings.TrimSpace(v) == "" {
				return violation(fmt.Sprintf("associatedIdentifiers[%d]", i), "must not be empty")
			}
		}
		return nil
	}},
	{"orderedDateTime.required", func(c *shipiumCheck) *shipiumViolation { return required("orderedDateTime", c.o.OrderedDateTime) }},
	{"orderedDateTime.dateTime", func(c *shipiumCheck) *shipiumViolation { return dateTime("orderedDateTime", c.o.OrderedDateTime) }},
	{"orderItemQuantities.required", func(c *shipiumCheck) *shipiumViolation {
		if len(c.o.OrderItemQuantities) == 0 {
			return violation("orderItemQuantities", "required: at least one order item")
		}
		return nil
	}},
	{"orderItemQuantities.orderItemReferenceIdentifier.required", eachItem(func(p string, it *ShipiumItem, c *shipiumCheck) *shipiumViolation {
		return required(p+".orderItemReferenceIdentifier", it.OrderItemReferenceIdentifier)
	})},
	{"orderItemQuantities.productId.required", eachItem(func(p string, it *ShipiumItem, c *shipiumCheck) *shipiumViolation {
		return required(p+".productId", it.ProductID)
	})},
	{"orderItemQuantities.quantity.required", eachItem(func(p string, it *ShipiumItem, c *shipiumCheck) *shipiumViolation {
		if it.Quantity == nil {
			return violation(p+".quantity", "required")
		}
		return nil
	})},
	{"orderItemQuantities.quantity.positive", eachItem(func(p string, it *ShipiumItem, c *shipiumCheck) *shipiumViolation {
		if it.Quantity != nil && *it.Quantity < 1 {
			return violation(p+".quantity", "want at least 1, got %d", *it.Quantity)
		}
		return nil
	})},
	{"orderItemQuantities.hazmatInfo.category.required", eachHazmat(func(p string, h *ShipiumHazmatInfo) *shipiumViolation {
		return required(p+".category", h.Category)
	})},
	{"orderItemQuantities.hazmatInfo.category.enum", eachHazmat(func(p string, h *ShipiumHazmatInfo) *shipiumViolation {
		return enum(p+".category", h.Category, shipiumHazmatCategories)
	})},
	{"orderItemQuantities.hazmatInfo.defined.required", eachHazmat(func(p string, h *ShipiumHazmatInfo) *shipiumViolation {
		if h.Category == nil || *h.Category != "defined" {
			return nil
		}
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"quantity", h.Quantity != nil}, {"quantityType", h.QuantityType != nil}, {"quantityUnits", h.QuantityUnits != nil},
			{"containerType", h.ContainerType != nil}, {"hazmatId", h.HazmatID != nil && *h.HazmatID != ""},
			{"properShippingName", h.ProperShippingName != nil && *h.ProperShippingName != ""},
			{"transportMode", h.TransportMode != nil}, {"hazardClass", h.HazardClass != nil},
		} {
			if !f.set {
				return violation(p+"."+f.name, "required when category is defined")
			}
		}
		return nil
	})},
	{"orderItemQuantities.hazmatInfo.quantity.positive", eachHazmat(func(p string, h *ShipiumHazmatInfo) *shipiumViolation {
		return positive(p+".quantity", h.Quantity)
	})},
	{"orderItemQuantities.hazmatInfo.enums", eachHazmat(func(p string, h *ShipiumHazmatInfo) *shipiumViolation {
		return firstOf(
			enum(p+".quantityType", h.QuantityType, shipiumQuantityTypes),
			enum(p+".quantityUnits", h.QuantityUnits, shipiumQuantityUnits),
			enum(p+".containerType", h.ContainerType, shipiumContainerTypes),
			enum(p+".packingGroup", h.PackingGroup, shipiumPackingGroups),
			enum(p+".transportMode", h.TransportMode, shipiumTransportModes),
			enum(p+".hazardClass", h.HazardClass, shipiumHazardClasses))
	})},
	{"orderItemQuantities.productDetails.shape", eachItem(func(p string, it *ShipiumItem, c *shipiumCheck) *shipiumViolation {
		if _, ok := productDetails(it.ProductDetails); !ok {
			return violation(p+".productDetails", "want a string or an array of strings")
		}
		return nil
	})},
	{"orderItemQuantities.productDetails.requiredInternationalOrHazmat", eachItem(func(p string, it *ShipiumItem, c *shipiumCheck) *shipiumViolation {
		hazmat := (it.Hazmat != nil && *it.Hazmat) || it.HazmatInfo != nil
		if d, _ := productDetails(it.ProductDetails); len(d) == 0 && (hazmat || c.intl) {
			why := "hazardous materials"
			if !hazmat {
				why = fmt.Sprintf("international shipments (%s to %s)", c.originCC, c.destCC)
			}
			return violation(p+".productDetails", "required for %s", why)
		}
		return nil
	})},
	{"shipFromAddress.countryCode.required", func(c *shipiumCheck) *shipiumViolation {
		if a := c.o.ShipFromAddress; a != nil {
			return required("shipFromAddress.countryCode", a.CountryCode)
		}
		return nil
	}},
	{"shipFromAddress.postalCode.required", func(c *shipiumCheck) *shipiumViolation {
		if a := c.o.ShipFromAddress; a != nil {
			return required("shipFromAddress.postalCode", a.PostalCode)
		}
		return nil
	}},
	{"originId.requiredWithoutShipFromAddress", func(c *shipiumCheck) *shipiumViolation {
		if c.o.ShipFromAddress == nil && (c.o.OriginID == nil || *c.o.OriginID == "") {
			return violation("originId", "required when shipFromAddress is absent")
		}
		return nil
	}},
	{"originId.notWithShipFromAddress", func(c *shipiumCheck) *shipiumViolation {
		if c.o.ShipFromAddress != nil && c.o.OriginID != nil {
			return violation("originId", "must be absent or null when shipFromAddress is given")
		}
		return nil
	}},
	{"destinationAddress.required", func(c *shipiumCheck) *shipiumViolation {
		if c.o.DestinationAddress == nil {
			return violation("destinationAddress", "required")
		}
		return nil
	}},
	{"destinationAddress.fields.required", func(c *shipiumCheck) *shipiumViolation {
		a := c.o.DestinationAddress
		if a == nil {
			return nil
		}
		p := "destinationAddress."
		fields := []struct {
			name string
			v    *string
			full bool // must not be empty either
		}{
			{"countryCode", a.CountryCode, true}, {"postalCode", a.PostalCode, true}, {"addressType", a.AddressType, true},
			{"company", a.Company, false}, {"name", a.Name, true}, {"emailAddress", a.EmailAddress, false},
			{"phoneNumber", a.PhoneNumber, false}, {"phoneNumberCountryCode", a.PhoneNumberCountryCode, false},
			{"city", a.City, true}, {"state", a.State, false},
		}
		if a.AddressLineComponents == nil {
			// street1 and street2 give way to addressLineComponents.
			fields = append(fields, struct {
				name string
				v    *string
				full bool
			}{"street1", a.Street1, true}, struct {
				name string
				v    *string
				full bool
			}{"street2", a.Street2, false})
		}
		for _, f := range fields {
			if f.v == nil || (f.full && strings.TrimSpace(*f.v) == "") {
				return violation(p+f.name, "required")
			}
		}
		return nil
	}},
	{"address.addressType.enum", eachAddress(func(p string, a *ShipiumAddress) *shipiumViolation {
		return enum(p+".addressType", a.AddressType, shipiumAddressTypes)
	})},
	{"address.countryCode.iso3166", eachAddress(func(p string, a *ShipiumAddress) *shipiumViolation {
		return countryCode(p+".countryCode", a.CountryCode)
	})},
	{"address.addressLineComponents.excludesStreets", eachAddress(func(p string, a *ShipiumAddress) *shipiumViolation {
		if a.AddressLineComponents == nil {
			return nil
		}
		if a.Street1 != nil {
			return violation(p+".street1", "must be absent or null when addressLineComponents is given")
		}
		if a.Street2 != nil {
			return violation(p+".street2", "must be absent or null when addressLineComponents is given")
		}
		return nil
	})},
	{"address.addressLineComponents.streetName.required", eachAddress(func(p string, a *ShipiumAddress) *shipiumViolation {
		if a.AddressLineComponents != nil {
			return required(p+".addressLineComponents.streetName", a.AddressLineComponents.StreetName)
		}
		return nil
	})},
	{"customsInfo.requiredInternational", func(c *shipiumCheck) *shipiumViolation {
		if c.intl && c.o.CustomsInfo == nil {
			return violation("customsInfo", "required for international shipments (%s to %s)", c.originCC, c.destCC)
		}
		return nil
	}},
	{"customsInfo.international.required", func(c *shipiumCheck) *shipiumViolation {
		ci := c.o.CustomsInfo
		if !c.intl || ci == nil {
			return nil
		}
		if v := required("customsInfo.reasonForExport", ci.ReasonForExport); v != nil {
			return violation(v.path, "required for international shipments")
		}
		if len(ci.CustomsItems) == 0 {
			return violation("customsInfo.customsItems", "required for international shipments: at least one item")
		}
		for i, it := range ci.CustomsItems {
			p := fmt.Sprintf("customsInfo.customsItems[%d]", i)
			for _, f := range []struct {
				name string
				set  bool
			}{
				{"customsValue", it.CustomsValue != nil}, {"customsValueCurrency", it.CustomsValueCurrency != nil},
				{"commodityDescription", it.CommodityDescription != nil && *it.CommodityDescription != ""},
				{"countryOfManufacture", it.CountryOfManufacture != nil}, {"quantity", it.Quantity != nil},
			} {
				if !f.set {
					return violation(p+"."+f.name, "required for international shipments")
				}
			}
		}
		return nil
	}},
	{"customsInfo.b13AFilingOption.requiredFromCanada", func(c *shipiumCheck) *shipiumViolation {
		ci := c.o.CustomsInfo
		if ci == nil || c.originCC != "CA" || c.destCC == "" || containsFold(shipiumB13AExempt, c.destCC) || ci.B13AFilingOption != nil {
			return nil
		}
		for _, it := range ci.CustomsItems {
			if it.B13AFilingOption == nil {
				return violation("customsInfo.b13AFilingOption", "required for shipments from CA to %s", c.destCC)
			}
		}
		if len(ci.CustomsItems) == 0 {
			return violation("customsInfo.b13AFilingOption", "required for shipments from CA to %s", c.destCC)
		}
		return nil
	}},
	{"customsInfo.enums", func(c *shipiumCheck) *shipiumViolation {
		ci := c.o.CustomsInfo
		if ci == nil {
			return nil
		}
		return firstOf(
			enum("customsInfo.reasonForExport", ci.ReasonForExport, shipiumReasonsForExport),
			enum("customsInfo.ultimateConsigneeType", ci.UltimateConsigneeType, shipiumConsigneeTypes),
			enum("customsInfo.b13AFilingOption", ci.B13AFilingOption, shipiumB13AOptions),
			enum("customsInfo.incoterm", ci.Incoterm, shipiumIncoterms))
	}},
	{"customsInfo.values", func(c *shipiumCheck) *shipiumViolation {
		ci := c.o.CustomsInfo
		if ci == nil {
			return nil
		}
		return firstOf(
			nonNegative("customsInfo.totalCustomsValue", ci.TotalCustomsValue),
			currency("customsInfo.totalCustomsValueCurrency", ci.TotalCustomsValueCurrency),
			pair("customsInfo.totalCustomsValueCurrency", ci.TotalCustomsValue != nil, ci.TotalCustomsValueCurrency != nil, "totalCustomsValue"))
	}},
	{"customsInfo.formats", func(c *shipiumCheck) *shipiumViolation {
		ci := c.o.CustomsInfo
		if ci == nil {
			return nil
		}
		var v []*shipiumViolation
		v = append(v, dateOrDateTime("customsInfo.invoiceDate", ci.InvoiceDate))
		if eu := ci.EuropeanUnionInfo; eu != nil {
			v = append(v, pattern("customsInfo.europeanUnionInfo.vendorIossNumber", eu.VendorIossNumber, 12, 12, isAlnum, "12 letters or digits"))
		}
		if ee := ci.ElectronicExportInformation; ee != nil {
			v = append(v, localDate("customsInfo.electronicExportInformation.exportDate", ee.ExportDate),
				pattern("customsInfo.electronicExportInformation.pointOfOrigin", ee.PointOfOrigin, 2, 2, isAlnum, "a 2-character state abbreviation"))
		}
		v = append(v, pattern("customsInfo.permitNumber", ci.PermitNumber, 1, 64, isAlnum, "letters and digits only"))
		return firstOf(v...)
	}},
	{"customsInfo.customsItems.rules", func(c *shipiumCheck) *shipiumViolation {
		ci := c.o.CustomsInfo
		if ci == nil {
			return nil
		}
		for i, it := range ci.CustomsItems {
			p := fmt.Sprintf("customsInfo.customsItems[%d]", i)
			v := []*shipiumViolation{
				nonNegative(p+".customsValue", it.CustomsValue),
				currency(p+".customsValueCurrency", it.CustomsValueCurrency),
				pair(p+".customsValueCurrency", it.CustomsValue != nil, it.CustomsValueCurrency != nil, "customsValue"),
				countryCode(p+".countryOfManufacture", it.CountryOfManufacture),
				weight(p+".customsWeight", it.CustomsWeight),
				minInt(p+".quantity", it.Quantity, 1),
				enum(p+".quantityUnitOfMeasurement", it.QuantityUnitOfMeasurement, shipiumQuantityUOMs),
				digitsPattern(p+".harmonizedTariffNumber", it.HarmonizedTariffNumber, 6, 15),
				enum(p+".b13AFilingOption", it.B13AFilingOption, shipiumB13AOptions),
			}
			if e := it.ElectronicExportCommodityInformation; e != nil {
				q := p + ".electronicExportCommodityInformation"
				v = append(v, enum(q+".exportType", e.ExportType, shipiumExportTypes),
					pattern(q+".exportInformationCode", e.ExportInformationCode, 2, 2, isAlnum, "a 2-character code"),
					eccn(q+".eccnNumber", e.EccnNumber))
				if s := e.ScheduleBInformation; s != nil {
					v = append(v, digitsPattern(q+".scheduleBInformation.scheduleBNumber", s.ScheduleBNumber, 10, 10),
						minInt(q+".scheduleBInformation.scheduleBQuantity", s.ScheduleBQuantity, 0),
						enum(q+".scheduleBInformation.scheduleBUnitOfMeasurement", s.ScheduleBUnitOfMeasurement, shipiumScheduleBUOMs))
				}
				if l := e.ExportLicenseInformation; l != nil && l.ExportLicense != nil {
					lp := q + ".exportLicenseInformation.exportLicense"
					if n := l.ExportLicense.LicenseLineValue; n != nil && *n < 0 {
						v = append(v, violation(lp+".licenseLineValue", "must not be negative"))
					}
					v = append(v, localDate(lp+".licenseExpiration", l.ExportLicense.LicenseExpiration))
				}
			}
			if r := firstOf(v...); r != nil {
				return r
			}
		}
		return nil
	}},
	{"totalDeclaredValue.rules", func(c *shipiumCheck) *shipiumViolation {
		d := c.o.TotalDeclaredValue
		if d == nil {
			return nil
		}
		return firstOf(nonNegative("totalDeclaredValue.declaredValue", d.DeclaredValue),
			currency("totalDeclaredValue.currencyCode", d.CurrencyCode),
			pair("totalDeclaredValue.currencyCode", d.DeclaredValue != nil, d.CurrencyCode != nil, "declaredValue"))
	}},
	{"orderFulfillmentParameters.fulfillmentContext.required", func(c *shipiumCheck) *shipiumViolation {
		f := c.o.OrderFulfillmentParameters
		if f == nil {
			return nil
		}
		// The table marks both required; the seed's own example sends the
		// tag and a null id: one of the two is required.
		if (f.FulfillmentContext == nil || *f.FulfillmentContext == "") && (f.FulfillmentContextID == nil || *f.FulfillmentContextID == "") {
			return violation("orderFulfillmentParameters.fulfillmentContext", "required (or fulfillmentContextId)")
		}
		return nil
	}},
	{"orderFulfillmentParameters.packagingType.packagingTypeIdOrLinearDimensions", func(c *shipiumCheck) *shipiumViolation {
		pt := packaging(c.o)
		if pt == nil || (pt.PackagingTypeID != nil && *pt.PackagingTypeID != "") || pt.LinearDimensions != nil {
			return nil
		}
		return violation("orderFulfillmentParameters.packagingType.linearDimensions", "required when packagingTypeId is absent")
	}},
	{"orderFulfillmentParameters.packagingType.linearDimensions.required", func(c *shipiumCheck) *shipiumViolation {
		pt := packaging(c.o)
		if pt == nil || pt.LinearDimensions == nil || (pt.PackagingTypeID != nil && *pt.PackagingTypeID != "") {
			return nil
		}
		d, p := pt.LinearDimensions, "orderFulfillmentParameters.packagingType.linearDimensions."
		for _, f := range []struct {
			name string
			set  bool
		}{{"linearUnit", d.LinearUnit != nil}, {"length", d.Length != nil}, {"width", d.Width != nil}, {"height", d.Height != nil}} {
			if !f.set {
				return violation(p+f.name, "required when packagingTypeId is absent")
			}
		}
		return nil
	}},
	{"orderFulfillmentParameters.packagingType.values", func(c *shipiumCheck) *shipiumViolation {
		pt := packaging(c.o)
		if pt == nil {
			return nil
		}
		p := "orderFulfillmentParameters.packagingType."
		v := []*shipiumViolation{enum(p+"packagingMaterial", pt.PackagingMaterial, shipiumPackagingMaterials),
			weight(p+"packagingWeight", pt.PackagingWeight)}
		if d := pt.LinearDimensions; d != nil {
			v = append(v, enum(p+"linearDimensions.linearUnit", d.LinearUnit, shipiumLinearUnits),
				positive(p+"linearDimensions.length", d.Length), positive(p+"linearDimensions.width", d.Width),
				positive(p+"linearDimensions.height", d.Height))
		}
		return firstOf(v...)
	}},
	{"orderFulfillmentParameters.totalWeight.values", func(c *shipiumCheck) *shipiumViolation {
		if f := c.o.OrderFulfillmentParameters; f != nil {
			return weight("orderFulfillmentParameters.totalWeight", f.TotalWeight)
		}
		return nil
	}},
}

// validateShipiumOrder applies every rule; origin is the country the
// order ships from when it names an originId (the bench's own ship-from).
func validateShipiumOrder(o *ShipiumOrderRequest, origin string) *shipiumViolation {
	c := &shipiumCheck{o: o, originCC: strings.ToUpper(origin)}
	if a := o.ShipFromAddress; a != nil {
		c.originCC = upper(a.CountryCode)
	}
	if a := o.DestinationAddress; a != nil {
		c.destCC = upper(a.CountryCode)
	}
	// International only between two real country codes: a malformed one
	// is reported by its own rule.
	c.intl = len(c.originCC) == 2 && len(c.destCC) == 2 && c.originCC != c.destCC &&
		countryCode("", &c.originCC) == nil && countryCode("", &c.destCC) == nil
	for _, r := range shipiumRules {
		if v := r.check(c); v != nil {
			return v
		}
	}
	return nil
}

func upper(p *string) string {
	if p == nil {
		return ""
	}
	return strings.ToUpper(strings.TrimSpace(*p))
}

func packaging(o *ShipiumOrderRequest) *ShipiumPackaging {
	if o.OrderFulfillmentParameters == nil {
		return nil
	}
	return o.OrderFulfillmentParameters.PackagingType
}

func eachItem(f func(path string, it *ShipiumItem, c *shipiumCheck) *shipiumViolation) func(*shipiumCheck) *shipiumViolation {
	return func(c *shipiumCheck) *shipiumViolation {
		for i := range c.o.OrderItemQuantities {
			if v := f(fmt.Sprintf("orderItemQuantities[%d]", i), &c.o.OrderItemQuantities[i], c); v != nil {
				return v
			}
		}
		return nil
	}
}

func eachHazmat(f func(path string, h *ShipiumHazmatInfo) *shipiumViolation) func(*shipiumCheck) *shipiumViolation {
	return eachItem(func(p string, it *ShipiumItem, _ *shipiumCheck) *shipiumViolation {
		if it.HazmatInfo == nil {
			return nil
		}
		return f(p+".hazmatInfo", it.HazmatInfo)
	})
}

// eachAddress runs f on every address of the order.
func eachAddress(f func(path string, a *ShipiumAddress) *shipiumViolation) func(*shipiumCheck) *shipiumViolation {
	return func(c *shipiumCheck) *shipiumViolation {
		var v []*shipiumViolation
		if a := c.o.ShipFromAddress; a != nil {
			v = append(v, f("shipFromAddress", a))
		}
		if a := c.o.DestinationAddress; a != nil {
			v = append(v, f("destinationAddress", a))
		}
		if ci := c.o.CustomsInfo; ci != nil && ci.UltimateConsigneeAddress != nil {
			v = append(v, f("customsInfo.ultimateConsigneeAddress", ci.UltimateConsigneeAddress))
		}
		return firstOf(v...)
	}
}

func firstOf(vs ...*shipiumViolation) *shipiumViolation {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

func required(path string, v *string) *shipiumViolation {
	if v == nil || strings.TrimSpace(*v) == "" {
		return violation(path, "required")
	}
	return nil
}

func notEmpty(path string, v *string) *shipiumViolation {
	if v != nil && strings.TrimSpace(*v) == "" {
		return violation(path, "must not be empty (send null or leave it out)")
	}
	return nil
}

func enum(path string, v *string, allowed []string) *shipiumViolation {
	if v == nil {
		return nil
	}
	for _, a := range allowed {
		if *v == a {
			return nil
		}
	}
	return violation(path, "want one of %s, got %q", strings.Join(allowed, ", "), *v)
}

func containsFold(list []string, v string) bool {
	for _, a := range list {
		if strings.EqualFold(a, v) {
			return true
		}
	}
	return false
}

// parseShipiumDateTime reads an ISO 8601 date-time with its offset
// ("2025-03-15T10:10:00.111111Z"): without one the instant is unknown.
func parseShipiumDateTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

func dateTime(path string, v *string) *shipiumViolation {
	if v == nil {
		return nil
	}
	if _, err := parseShipiumDateTime(*v); err != nil {
		return violation(path, "want an ISO 8601 date-time with offset like 2025-03-15T10:10:00.111111Z, got %q", *v)
	}
	return nil
}

func localDate(path string, v *string) *shipiumViolation {
	if v == nil {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, *v); err != nil {
		return violation(path, "want an ISO 8601 local date like 2019-10-29, got %q", *v)
	}
	return nil
}

func dateOrDateTime(path string, v *string) *shipiumViolation {
	if v == nil {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, *v); err == nil {
		return nil
	}
	if _, err := parseShipiumDateTime(*v); err == nil {
		return nil
	}
	return violation(path, "want an ISO 8601 date (2019-10-29) or date-time, got %q", *v)
}

func positive(path string, v *float64) *shipiumViolation {
	if v != nil && !(*v > 0) {
		return violation(path, "want a number above 0, got %v", *v)
	}
	return nil
}

func nonNegative(path string, v *float64) *shipiumViolation {
	if v != nil && *v < 0 {
		return violation(path, "must not be negative, got %v", *v)
	}
	return nil
}

func minInt(path string, v *int32, min int32) *shipiumViolation {
	if v != nil && *v < min {
		return violation(path, "want at least %d, got %d", min, *v)
	}
	return nil
}

// pair: a value needs its unit or currency (path names the missing one).
func pair(path string, value, unit bool, valueName string) *shipiumViolation {
	if value && !unit {
		return violation(path, "required with %s", valueName)
	}
	return nil
}

func weight(path string, w *ShipiumWeight) *shipiumViolation {
	if w == nil {
		return nil
	}
	return firstOf(enum(path+".weightUnit", w.WeightUnit, shipiumWeightUnits), positive(path+".weight", w.Weight),
		pair(path+".weightUnit", w.Weight != nil, w.WeightUnit != nil, "weight"),
		pair(path+".weight", w.WeightUnit != nil, w.Weight != nil, "weightUnit"))
}

func countryCode(path string, v *string) *shipiumViolation {
	return pattern(path, v, 2, 2, unicode.IsLetter, "an ISO 3166-1 alpha-2 code like US")
}

func currency(path string, v *string) *shipiumViolation {
	return pattern(path, v, 3, 3, unicode.IsLetter, "an ISO 4217 code like USD")
}

func isAlnum(r rune) bool { return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

// pattern: between min and max runes, each passing ok.
func pattern(path string, v *string, min, max int, ok func(rune) bool, want string) *shipiumViolation {
	if v == nil {
		return nil
	}
	n := 0
	for _, r := range *v {
		n++
		if !ok(r) || r >= 128 {
			return violation(path, "want %s, got %q", want, *v)
		}
	}
	if n < min || n > max {
		return violation(path, "want %s, got %q", want, *v)
	}
	return nil
}

// digitsPattern: min to max digits; dots and spaces between groups are
// allowed, as tariff numbers are often written (6109.10.0012).
func digitsPattern(path string, v *string, min, max int) *shipiumViolation {
	if v == nil {
		return nil
	}
	n := 0
	for _, r := range *v {
		switch {
		case r >= '0' && r <= '9':
			n++
		case r == '.' || r == ' ':
		default:
			n = -1 << 20
		}
	}
	if n < min || n > max {
		if min == max {
			return violation(path, "want %d digits, got %q", min, *v)
		}
		return violation(path, "want %d to %d digits, got %q", min, max, *v)
	}
	return nil
}

// eccn: the seed's format #A### (a digit, a letter, three digits).
func eccn(path string, v *string) *shipiumViolation {
	if v == nil {
		return nil
	}
	s := *v
	if len(s) != 5 || s[0] < '0' || s[0] > '9' || !(s[1] >= 'A' && s[1] <= 'Z') ||
		strings.IndexFunc(s[2:], func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return violation(path, "want the format #A### like 5A992, got %q", s)
	}
	return nil
}

// productDetails reads the field: null, a string, or an array of strings.
func productDetails(raw json.RawMessage) ([]string, bool) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return nil, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			return nil, true
		}
		return []string{s}, true
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		for _, x := range list {
			if x == "" {
				return nil, false
			}
		}
		return list, true
	}
	return nil, false
}
