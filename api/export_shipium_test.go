package api

import "testing"

// ShipiumCase is a broken-rule case for the HTTP tests in api_test.
type ShipiumCase struct {
	Rule, Name, Path string
	Body             []byte
}

// ShipiumCases are the validator's cases (shipium_cases_test.go) as
// request bodies.
func ShipiumCases(t testing.TB) []ShipiumCase {
	var out []ShipiumCase
	for _, c := range shipiumCases {
		out = append(out, ShipiumCase{c.rule, c.name, c.path, shipiumCaseBody(t, c)})
	}
	return out
}

// ShipiumFullOrder is a valid order using every part of the model.
const ShipiumFullOrder = shipiumFullOrder
