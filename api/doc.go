// Package api serves the bench's local HTTP API: the seed contracts
// (Shipium Pack App, Fulfil /label, Packrooster, Shopify fulfillment service,
// Tracktor), packbench's own /api/v1, the OpenAPI document and the web page.
package api
