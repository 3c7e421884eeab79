package api

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/packbench/packbench/internal/strictjson"
)

// shipiumCase breaks one rule of the seed's tables in the seed's own
// example request (or in shipiumFullOrder) and names the path the 400
// must give. The same cases drive the validator test, the HTTP test
// (api_test, through export_test.go) and the fuzz seeds.
type shipiumCase struct {
	rule string // shipiumRule.id
	name string
	full bool // start from shipiumFullOrder instead of the seed's example
	edit func(m map[string]any)
	path string
}

// shipiumExample is the seed's example request, verbatim.
func shipiumExample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/shipium_order_request.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shipiumFullOrder uses every part of the model, valid: US to MX, with
// address components, a defined hazmat item, customs with export
// information, declared value, packaging by dimensions and total weight.
const shipiumFullOrder = `{
  "fulfillmentType": "customer", "orderSource": "Shipium", "partnerOrderId": "partner-order:full-1",
  "associatedIdentifiers": ["lpn-barcode:full-1", "tote:7"], "tenantId": "tenant-a",
  "orderedDateTime": "2025-03-15T10:10:00-07:00",
  "orderItemQuantities": [{
    "orderItemReferenceIdentifier": "full-1_item:1", "hazmat": true,
    "hazmatInfo": {"category": "defined", "quantity": 2.1, "quantityType": "net", "quantityUnits": "ml",
      "containerType": "fiberboard_box", "hazmatId": "UN1755", "properShippingName": "chromic acid solution",
      "packingGroup": "ii", "transportMode": "ground", "packingInstructionCode": "967",
      "hazardClass": "class_8_corrosive_material", "subsidiaryClasses": "8.1"},
    "productTaxCode": "PTC1", "nmfcCode": "32100.2", "nmfcFreightClass": "50", "productId": "RN03947-Z43121",
    "quantity": 3, "productDetails": ["limited_quantity", "perishable"]}],
  "shipFromAddress": {"name": "Dock 4", "company": "ACME", "street1": "1 Warehouse Way", "street2": null,
    "city": "El Paso", "state": "TX", "countryCode": "US", "postalCode": "79901", "addressType": "commercial",
    "phoneNumber": "9155550100", "phoneNumberCountryCode": "+1", "emailAddress": "dock4@example.com"},
  "originId": null,
  "destinationAddress": {"name": "Ana Torres", "phoneNumber": "5555551234", "phoneNumberCountryCode": "+52",
    "emailAddress": "ana@example.com", "company": "", "city": "Ciudad de México", "state": "CX", "countryCode": "MX",
    "postalCode": "08100", "addressType": "residential",
    "addressLineComponents": {"streetName": "Fovisste Fuentes Brotantes", "primaryAddressNumber": "12",
      "secondaryAddressNumber": "302", "district": "Iztacalco", "neighborhood": "Agrícola Pantitlán"}},
  "shipOption": "standard",
  "customsInfo": {"totalCustomsValue": 30.5, "totalCustomsValueCurrency": "USD", "customsDescription": "cleaning supplies",
    "reasonForExport": "sale", "invoiceDate": "2025-03-15", "invoiceNumber": "INV-1",
    "europeanUnionInfo": {"vendorIossNumber": "IM1234567890"},
    "ultimateConsigneeAddress": {"name": "Ana Torres", "street1": "Calle 1", "city": "CDMX", "countryCode": "MX",
      "postalCode": "08100", "addressType": "residential"},
    "ultimateConsigneeType": "direct_consumer", "aesInternalTransactionNumber": "X20220714987654",
    "electronicExportInformation": {"exportDate": "2025-03-16", "pointOfOrigin": "TX"},
    "b13AFilingOption": null, "exportComplianceStatement": "NO_EEI_30_37_A", "permitNumber": "P123",
    "customsItems": [{"customsValue": 10.5, "customsValueCurrency": "USD", "commodityDescription": "cleaner",
      "countryOfManufacture": "US", "customsWeight": {"weightUnit": "lb", "weight": 1.5}, "quantity": 3,
      "productId": "RN03947-Z43121", "quantityUnitOfMeasurement": "piece", "harmonizedTariffNumber": "3402.20.1100",
      "commodityPartNumber": "CP-1", "marksAndNumbers": "M1",
      "electronicExportCommodityInformation": {"exportType": "domestic", "exportInformationCode": "OS",
        "scheduleBInformation": {"scheduleBNumber": "3402201100", "scheduleBQuantity": 3, "scheduleBUnitOfMeasurement": "liter"},
        "eccnNumber": "5A992",
        "exportLicenseInformation": {"licenseType": "C33", "licenseExemptionCode": "NLR",
          "exportLicense": {"licenseNumber": "D123456", "licenseLineValue": 100, "licenseExpiration": "2026-10-29"}}},
      "b13AFilingOption": null, "exportComplianceStatement": null}],
    "incoterm": "ddu"},
  "totalDeclaredValue": {"declaredValue": 30.5, "currencyCode": "USD"},
  "orderFulfillmentParameters": {"saturdayDelivery": false, "thirdPartyBillingSetId": null, "forceThirdPartyBilling": false,
    "fulfillmentContext": null, "fulfillmentContextId": "fctx-1",
    "packagingType": {"packagingMaterial": "box", "packagingSizeName": "13x12x10 box", "packagingTypeId": null,
      "linearDimensions": {"linearUnit": "in", "length": 13, "width": 12, "height": 10},
      "packagingWeight": {"weightUnit": "oz", "weight": 4}},
    "totalWeight": {"weightUnit": "lb", "weight": 2.5}}
}`

// at walks a dotted path with [i] indexes ("a.b[0].c") to its parent
// object and last key.
func at(m map[string]any, path string) (map[string]any, string) {
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		name, idx, indexed := strings.Cut(p, "[")
		next := cur[name]
		if indexed {
			i, _ := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			next = next.([]any)[i]
		}
		if next == nil {
			next = map[string]any{}
			cur[name] = next
		}
		cur = next.(map[string]any)
	}
	return cur, parts[len(parts)-1]
}

func set(path string, v any) func(map[string]any) {
	return func(m map[string]any) { p, k := at(m, path); p[k] = v }
}

func del(path string) func(map[string]any) {
	return func(m map[string]any) { p, k := at(m, path); delete(p, k) }
}

func all(fs ...func(map[string]any)) func(map[string]any) {
	return func(m map[string]any) {
		for _, f := range fs {
			f(m)
		}
	}
}

const (
	item0  = "orderItemQuantities[0]"
	hz     = item0 + ".hazmatInfo"
	dest   = "destinationAddress"
	cust   = "customsInfo"
	citem  = cust + ".customsItems[0]"
	eec    = citem + ".electronicExportCommodityInformation"
	ofp    = "orderFulfillmentParameters"
	packag = ofp + ".packagingType"
)

var definedHazmat = map[string]any{"category": "defined", "quantity": 2.1, "quantityType": "gross", "quantityUnits": "g",
	"containerType": "carton", "hazmatId": "UN1755", "properShippingName": "chromic acid solution",
	"transportMode": "ground", "hazardClass": "class_8_corrosive_material"}

// copyMap is a fresh copy of definedHazmat for each case.
func hazmatWithout(field string) func(map[string]any) {
	return func(m map[string]any) {
		h := map[string]any{}
		for k, v := range definedHazmat {
			if k != field {
				h[k] = v
			}
		}
		set(hz, h)(m)
		set(item0+".productDetails", "limited_quantity")(m)
	}
}

// toCanada makes the seed's example international (US to CA) with the
// item details that requires, leaving customsInfo to the case.
var toCanada = all(set(dest+".countryCode", "CA"), set(dest+".state", "ON"), set(dest+".postalCode", "K1A 0B1"),
	set(item0+".productDetails", "perishable"))

var shipiumCases = func() []shipiumCase {
	cs := []shipiumCase{
		{"fulfillmentType.required", "absent", false, del("fulfillmentType"), "fulfillmentType"},
		{"fulfillmentType.required", "null", false, set("fulfillmentType", nil), "fulfillmentType"},
		{"fulfillmentType.enum", "unknown", false, set("fulfillmentType", "drone"), "fulfillmentType"},
		{"orderSource.required", "null", false, set("orderSource", nil), "orderSource"},
		{"orderSource.enum", "unknown", false, set("orderSource", "internal"), "orderSource"},
		{"partnerOrderId.notEmpty", "empty", false, set("partnerOrderId", ""), "partnerOrderId"},
		{"associatedIdentifiers.notEmpty", "empty", false, set("associatedIdentifiers", []any{"lpn:1", " "}), "associatedIdentifiers[1]"},
		{"orderedDateTime.required", "absent", false, del("orderedDateTime"), "orderedDateTime"},
		{"orderedDateTime.dateTime", "no offset", false, set("orderedDateTime", "2025-03-15T10:10:00.111111"), "orderedDateTime"},
		{"orderedDateTime.dateTime", "not a date", false, set("orderedDateTime", "15/03/2025 10:10"), "orderedDateTime"},
		{"orderItemQuantities.required", "empty", false, set("orderItemQuantities", []any{}), "orderItemQuantities"},
		{"orderItemQuantities.required", "null", false, set("orderItemQuantities", nil), "orderItemQuantities"},
		{"orderItemQuantities.orderItemReferenceIdentifier.required", "absent", false, del(item0 + ".orderItemReferenceIdentifier"), item0 + ".orderItemReferenceIdentifier"},
		{"orderItemQuantities.productId.required", "null", false, set(item0+".productId", nil), item0 + ".productId"},
		{"orderItemQuantities.quantity.required", "null", false, set(item0+".quantity", nil), item0 + ".quantity"},
		{"orderItemQuantities.quantity.positive", "zero", false, set(item0+".quantity", 0), item0 + ".quantity"},
		{"orderItemQuantities.hazmatInfo.category.required", "absent", false,
			all(set(hz, map[string]any{"hazmatId": "UN1755"}), set(item0+".productDetails", "lq")), hz + ".category"},
		{"orderItemQuantities.hazmatInfo.category.enum", "unknown", false,
			all(set(hz, map[string]any{"category": "radioactive"}), set(item0+".productDetails", "lq")), hz + ".category"},
		{"orderItemQuantities.hazmatInfo.quantity.positive", "negative", false, all(hazmatWithout(""), set(hz+".quantity", -1)), hz + ".quantity"},
		{"orderItemQuantities.productDetails.shape", "number", false, set(item0+".productDetails", 5), item0 + ".productDetails"},
		{"orderItemQuantities.productDetails.requiredInternationalOrHazmat", "hazmat", false, set(item0+".hazmat", true), item0 + ".productDetails"},
		{"orderItemQuantities.productDetails.requiredInternationalOrHazmat", "international", false,
			all(toCanada, set(item0+".productDetails", nil)), item0 + ".productDetails"},
		{"shipFromAddress.countryCode.required", "absent", false,
			all(set("originId", nil), set("shipFromAddress", map[string]any{"postalCode": "79901"})), "shipFromAddress.countryCode"},
		{"shipFromAddress.postalCode.required", "absent", false,
			all(set("originId", nil), set("shipFromAddress", map[string]any{"countryCode": "US"})), "shipFromAddress.postalCode"},
		{"originId.requiredWithoutShipFromAddress", "null", false, set("originId", nil), "originId"},
		{"originId.requiredWithoutShipFromAddress", "absent", false, del("originId"), "originId"},
		{"originId.notWithShipFromAddress", "both", false,
			set("shipFromAddress", map[string]any{"countryCode": "US", "postalCode": "79901"}), "originId"},
		{"destinationAddress.required", "null", false, set(dest, nil), dest},
		{"address.addressType.enum", "unknown", false, set(dest+".addressType", "warehouse"), dest + ".addressType"},
		{"address.addressType.enum", "ship from", true, set("shipFromAddress.addressType", "home"), "shipFromAddress.addressType"},
		{"address.countryCode.iso3166", "three letters", false, set(dest+".countryCode", "USA"), dest + ".countryCode"},
		{"address.countryCode.iso3166", "consignee", true, set(cust+".ultimateConsigneeAddress.countryCode", "M1"), cust + ".ultimateConsigneeAddress.countryCode"},
		{"address.addressLineComponents.excludesStreets", "street1", false,
			set(dest+".addressLineComponents", map[string]any{"streetName": "Fuentes"}), dest + ".street1"},
		{"address.addressLineComponents.excludesStreets", "street2", true, set(dest+".street2", "Depto 4"), dest + ".street2"},
		{"address.addressLineComponents.streetName.required", "absent", true, del(dest + ".addressLineComponents.streetName"), dest + ".addressLineComponents.streetName"},
		{"customsInfo.requiredInternational", "null", false, toCanada, cust},
		{"customsInfo.international.required", "reasonForExport", true, del(cust + ".reasonForExport"), cust + ".reasonForExport"},
		{"customsInfo.international.required", "customsItems", true, set(cust+".customsItems", []any{}), cust + ".customsItems"},
		{"customsInfo.b13AFilingOption.requiredFromCanada", "CA to MX", true,
			all(set("shipFromAddress.countryCode", "CA"), set("shipFromAddress.postalCode", "M5V 2T6")), cust + ".b13AFilingOption"},
		{"customsInfo.enums", "incoterm", true, set(cust+".incoterm", "exw"), cust + ".incoterm"},
		{"customsInfo.enums", "reasonForExport", true, set(cust+".reasonForExport", "resale"), cust + ".reasonForExport"},
		{"customsInfo.enums", "ultimateConsigneeType", true, set(cust+".ultimateConsigneeType", "person"), cust + ".ultimateConsigneeType"},
		{"customsInfo.enums", "b13AFilingOption", true, set(cust+".b13AFilingOption", "later"), cust + ".b13AFilingOption"},
		{"customsInfo.values", "currency", true, set(cust+".totalCustomsValueCurrency", "dollars"), cust + ".totalCustomsValueCurrency"},
		{"customsInfo.values", "negative", true, set(cust+".totalCustomsValue", -1), cust + ".totalCustomsValue"},
		{"customsInfo.values", "value without currency", true, del(cust + ".totalCustomsValueCurrency"), cust + ".totalCustomsValueCurrency"},
		{"customsInfo.formats", "invoiceDate", true, set(cust+".invoiceDate", "yesterday"), cust + ".invoiceDate"},
		{"customsInfo.formats", "exportDate", true, set(cust+".electronicExportInformation.exportDate", "2025-03-16T00:00:00Z"), cust + ".electronicExportInformation.exportDate"},
		{"customsInfo.formats", "vendorIossNumber", true, set(cust+".europeanUnionInfo.vendorIossNumber", "IM123"), cust + ".europeanUnionInfo.vendorIossNumber"},
		{"customsInfo.formats", "pointOfOrigin", true, set(cust+".electronicExportInformation.pointOfOrigin", "Texas"), cust + ".electronicExportInformation.pointOfOrigin"},
		{"customsInfo.formats", "permitNumber", true, set(cust+".permitNumber", "P-123!"), cust + ".permitNumber"},
		{"customsInfo.customsItems.rules", "countryOfManufacture", true, set(citem+".countryOfManufacture", "China"), citem + ".countryOfManufacture"},
		{"customsInfo.customsItems.rules", "customsValueCurrency", true, set(citem+".customsValueCurrency", "usd$"), citem + ".customsValueCurrency"},
		{"customsInfo.customsItems.rules", "customsWeight.weightUnit", true, set(citem+".customsWeight.weightUnit", "stone"), citem + ".customsWeight.weightUnit"},
		{"customsInfo.customsItems.rules", "quantity", true, set(citem+".quantity", 0), citem + ".quantity"},
		{"customsInfo.customsItems.rules", "quantityUnitOfMeasurement", true, set(citem+".quantityUnitOfMeasurement", "each"), citem + ".quantityUnitOfMeasurement"},
		{"customsInfo.customsItems.rules", "harmonizedTariffNumber", true, set(citem+".harmonizedTariffNumber", "3402"), citem + ".harmonizedTariffNumber"},
		{"customsInfo.customsItems.rules", "b13AFilingOption", true, set(citem+".b13AFilingOption", "later"), citem + ".b13AFilingOption"},
		{"customsInfo.customsItems.rules", "exportType", true, set(eec+".exportType", "overseas"), eec + ".exportType"},
		{"customsInfo.customsItems.rules", "exportInformationCode", true, set(eec+".exportInformationCode", "OSX"), eec + ".exportInformationCode"},
		{"customsInfo.customsItems.rules", "eccnNumber", true, set(eec+".eccnNumber", "EAR99"), eec + ".eccnNumber"},
		{"customsInfo.customsItems.rules", "scheduleBNumber", true, set(eec+".scheduleBInformation.scheduleBNumber", "340220"), eec + ".scheduleBInformation.scheduleBNumber"},
		{"customsInfo.customsItems.rules", "scheduleBUnitOfMeasurement", true, set(eec+".scheduleBInformation.scheduleBUnitOfMeasurement", "litre"), eec + ".scheduleBInformation.scheduleBUnitOfMeasurement"},
		{"customsInfo.customsItems.rules", "scheduleBQuantity", true, set(eec+".scheduleBInformation.scheduleBQuantity", -1), eec + ".scheduleBInformation.scheduleBQuantity"},
		{"customsInfo.customsItems.rules", "licenseLineValue", true, set(eec+".exportLicenseInformation.exportLicense.licenseLineValue", -5), eec + ".exportLicenseInformation.exportLicense.licenseLineValue"},
		{"customsInfo.customsItems.rules", "licenseExpiration", true, set(eec+".exportLicenseInformation.exportLicense.licenseExpiration", "2026/10/29"), eec + ".exportLicenseInformation.exportLicense.licenseExpiration"},
		{"totalDeclaredValue.rules", "negative", false, set("totalDeclaredValue", map[string]any{"declaredValue": -1, "currencyCode": "USD"}), "totalDeclaredValue.declaredValue"},
		{"totalDeclaredValue.rules", "no currency", false, set("totalDeclaredValue", map[string]any{"declaredValue": 10}), "totalDeclaredValue.currencyCode"},
		{"totalDeclaredValue.rules", "bad currency", false, set("totalDeclaredValue", map[string]any{"declaredValue": 10, "currencyCode": "US"}), "totalDeclaredValue.currencyCode"},
		{"orderFulfillmentParameters.fulfillmentContext.required", "neither", false, set(ofp+".fulfillmentContext", nil), ofp + ".fulfillmentContext"},
		{"orderFulfillmentParameters.packagingType.packagingTypeIdOrLinearDimensions", "neither", false,
			set(packag, map[string]any{"packagingMaterial": "box"}), packag + ".linearDimensions"},
		{"orderFulfillmentParameters.packagingType.linearDimensions.required", "height", true, del(packag + ".linearDimensions.height"), packag + ".linearDimensions.height"},
		{"orderFulfillmentParameters.packagingType.linearDimensions.required", "linearUnit", true, del(packag + ".linearDimensions.linearUnit"), packag + ".linearDimensions.linearUnit"},
		{"orderFulfillmentParameters.packagingType.values", "linearUnit", true, set(packag+".linearDimensions.linearUnit", "mm"), packag + ".linearDimensions.linearUnit"},
		{"orderFulfillmentParameters.packagingType.values", "length", true, set(packag+".linearDimensions.length", 0), packag + ".linearDimensions.length"},
		{"orderFulfillmentParameters.packagingType.values", "packagingMaterial", true, set(packag+".packagingMaterial", "crate"), packag + ".packagingMaterial"},
		{"orderFulfillmentParameters.packagingType.values", "packagingWeight", true, set(packag+".packagingWeight.weightUnit", "t"), packag + ".packagingWeight.weightUnit"},
		{"orderFulfillmentParameters.totalWeight.values", "weightUnit", false, set(ofp+".totalWeight", map[string]any{"weight": 2}), ofp + ".totalWeight.weightUnit"},
		{"orderFulfillmentParameters.totalWeight.values", "weight", false, set(ofp+".totalWeight", map[string]any{"weightUnit": "kg", "weight": 0}), ofp + ".totalWeight.weight"},
	}
	for _, f := range []string{"quantity", "quantityType", "quantityUnits", "containerType", "hazmatId", "properShippingName", "transportMode", "hazardClass"} {
		cs = append(cs, shipiumCase{"orderItemQuantities.hazmatInfo.defined.required", f, false, hazmatWithout(f), hz + "." + f})
	}
	for f, bad := range map[string]string{"quantityType": "tare", "quantityUnits": "gal", "containerType": "sack",
		"packingGroup": "iv", "transportMode": "rail", "hazardClass": "class_10"} {
		cs = append(cs, shipiumCase{"orderItemQuantities.hazmatInfo.enums", f, false, all(hazmatWithout(""), set(hz+"."+f, bad)), hz + "." + f})
	}
	for _, f := range []string{"countryCode", "postalCode", "addressType", "company", "name", "emailAddress", "phoneNumber",
		"phoneNumberCountryCode", "city", "state", "street1", "street2"} {
		cs = append(cs, shipiumCase{"destinationAddress.fields.required", f, false, del(dest + "." + f), dest + "." + f})
	}
	return cs
}()

// shipiumCaseBody is the request a case sends.
func shipiumCaseBody(t testing.TB, c shipiumCase) []byte {
	t.Helper()
	base := shipiumExample(t)
	if c.full {
		base = []byte(shipiumFullOrder)
	}
	var m map[string]any
	if err := json.Unmarshal(base, &m); err != nil {
		t.Fatal(err)
	}
	c.edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShipiumRulesEachBroken(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range shipiumCases {
		covered[c.rule] = true
		var o ShipiumOrderRequest
		if err := json.Unmarshal(shipiumCaseBody(t, c), &o); err != nil {
			t.Fatalf("%s/%s: %v", c.rule, c.name, err)
		}
		v := validateShipiumOrder(&o, "US")
		if v == nil || v.path != c.path {
			t.Errorf("%s/%s: violation %+v, want path %s", c.rule, c.name, v, c.path)
		}
	}
	for _, r := range shipiumRules {
		if !covered[r.id] {
			t.Errorf("rule %s has no case that breaks it", r.id)
		}
	}
	for _, base := range [][]byte{shipiumExample(t), []byte(shipiumFullOrder)} {
		var o ShipiumOrderRequest
		if err := json.Unmarshal(base, &o); err != nil {
			t.Fatal(err)
		}
		if v := validateShipiumOrder(&o, "US"); v != nil {
			t.Errorf("valid order refused: %+v", v)
		}
	}
}

// FuzzShipiumValidator: whatever the body, decoding and validating never
// panics, and a refusal always names a path the body can have.
func FuzzShipiumValidator(f *testing.F) {
	f.Add(shipiumExample(f))
	f.Add([]byte(shipiumFullOrder))
	for _, c := range shipiumCases {
		f.Add(shipiumCaseBody(f, c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var o ShipiumOrderRequest
		if err := strictjson.Decode(data, &o, nil); err != nil {
			return // refused as the API refuses it
		}
		for _, origin := range []string{"US", "CA", ""} {
			if v := validateShipiumOrder(&o, origin); v != nil && (v.path == "" || v.msg == "" || strings.ContainsAny(v.path, " \n")) {
				t.Fatalf("violation without a usable path: %+v", v)
			}
		}
	})
}
