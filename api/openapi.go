package api

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// opDoc documents one route in the OpenAPI document. The document is
// built from the same table the mux is built from, and component schemas
// are derived from the Go types the handlers encode, so neither can drift
// from the code.
type opDoc struct {
	summary string
	tag     string
	query   []param
	body    any  // a value of the request body's type; nil: none
	bodyOpt bool // the body may be omitted
	status  int  // success status (default 200)
	resp    any  // a value of the answer's type; nil with respType: raw content
	// respType is the success content type (default application/json).
	respType string
	respDesc string
	errors   []int // error statuses besides 401 (and 400/413/415 for bodies)
	// idempotent: a create that takes an Idempotency-Key (idempotency.go);
	// the flag wires the handler and documents the header.
	idempotent bool
	// kiosk: a packer's route, which a paired screen's kiosk token (and,
	// with [api] trust_loopback, a loopback request) may call too.
	kiosk bool
}

type param struct {
	name, desc, typ string // typ: string, integer
	enum            []string
}

// customSchemas are the schemas of types whose JSON shape reflection
// cannot see (a custom MarshalJSON).
var customSchemas = map[reflect.Type]func() map[string]any{
	reflect.TypeOf(scale.Reading{}):   readingSchema,
	reflect.TypeOf(station.AnyID("")): anyIDSchema,
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// buildOpenAPI renders the OpenAPI 3.0 document for routes.
func buildOpenAPI(routes []route, version string) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	g.defs["Error"] = map[string]any{
		"type": "object", "required": []string{"error"},
		"properties": map[string]any{"error": map[string]any{
			"type": "object", "required": []string{"code", "message"},
			"properties": map[string]any{
				"code":    map[string]any{"type": "string", "description": "stable error code (invalid_json, invalid_field, unauthorized, not_found, method_not_allowed, conflict, body_too_large, unsupported_media_type, carrier_error, not_supported, unavailable, not_simulated, no_order, not_armed, busy, idempotency_key_reused, disk_full, host_not_allowed, too_many_streams, too_many_connections, url_refused, origin_not_allowed, internal)"},
				"message": map[string]any{"type": "string"},
				"field":   map[string]any{"type": "string", "description": "JSON path of the offending field, e.g. ship_to.zip"},
				"action":  map[string]any{"type": "string", "description": "the next step in people's words, when the bench refused for a reason a person can act on"},
				"problem": map[string]any{"type": "object", "description": "the station's typed refusal, as in FlowState.problem: code (already_labelled, too_light, uncertain, ...), message, action, offer (reprint, confirm_printed) and the job_id it acts on"},
			},
		}},
	}
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		d := rt.doc
		op := map[string]any{
			"summary":     d.summary,
			"operationId": operationID(rt.method, rt.path),
			"tags":        []string{d.tag},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			desc := "identifier"
			if m[1] == "file" {
				desc = "label id with its format as extension: {id}.png or {id}.zpl"
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"description": desc, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range d.query {
			sch := map[string]any{"type": q.typ}
			if len(q.enum) > 0 {
				sch["enum"] = q.enum
			}
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": sch})
		}
		if d.idempotent {
			params = append(params, map[string]any{"name": HeaderIdempotencyKey, "in": "header", "required": false,
				"description": "Makes a retry safe: the same key with the same request (method, path, body) within 24 h gets the first " +
					"successful answer again (status, body, Location) with Idempotent-Replayed: true, and creates nothing; the same key " +
					"with another request gets 409 idempotency_key_reused; a request arriving while the first with its key runs waits " +
					"for it and gets its answer. Keys are scoped to the API key; failed requests keep no answer and may be retried. " +
					"1 to 255 printable ASCII characters (400 naming Idempotency-Key otherwise)",
				"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": MaxIdempotencyKeyLen}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		responses := map[string]any{}
		status := d.status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": firstNonEmpty(d.respDesc, http.StatusText(status))}
		switch {
		case d.resp != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schemaOf(reflect.TypeOf(d.resp))}}
		case d.respType != "":
			ok["content"] = map[string]any{d.respType: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		}
		errs := append([]int(nil), d.errors...)
		if d.idempotent {
			ok["headers"] = map[string]any{HeaderReplayed: map[string]any{
				"description": "true when this is the kept answer to an earlier request with the same Idempotency-Key",
				"schema":      map[string]any{"type": "string", "enum": []string{"true"}}}}
			errs = append(errs, http.StatusConflict)
		}
		responses[fmt.Sprint(status)] = ok
		if d.body != nil {
			op["requestBody"] = map[string]any{
				"required": !d.bodyOpt,
				"content":  map[string]any{"application/json": map[string]any{"schema": g.schemaOf(reflect.TypeOf(d.body))}},
			}
			errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		}
		if status == http.StatusCreated {
			// Every create is new work: refused while the disk is under its floor.
			errs = append(errs, http.StatusInsufficientStorage)
		}
		switch rt.auth {
		case authNone:
			op["security"] = []any{}
		case authKeyQuery:
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"apiKeyHeader": []string{}}, map[string]any{"apiKeyQuery": []string{}}}
			errs = append(errs, http.StatusUnauthorized)
		case authFlow:
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"apiKeyHeader": []string{}},
				map[string]any{"flowClientID": []string{}, "flowClientSecret": []string{}}, map[string]any{"flowBasic": []string{}}}
			errs = append(errs, http.StatusUnauthorized)
		case authPrint, authPrintQuery:
			sec := []any{map[string]any{"bearer": []string{}}, map[string]any{"apiKeyHeader": []string{}}}
			if rt.auth == authPrintQuery {
				sec = append(sec, map[string]any{"apiKeyQuery": []string{}})
			}
			op["security"] = sec
			errs = append(errs, http.StatusUnauthorized)
		default:
			errs = append(errs, http.StatusUnauthorized)
		}
		if d.kiosk {
			op["x-packbench-kiosk"] = true
		} else if rt.auth != authNone {
			errs = append(errs, http.StatusForbidden) // a kiosk token
		}
		// Every route: a Host that is not the bench's (DNS rebinding).
		errs = append(errs, http.StatusMisdirectedRequest)
		for _, c := range errs {
			responses[fmt.Sprint(c)] = map[string]any{
				"description": http.StatusText(c),
				"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}},
			}
		}
		op["responses"] = responses
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "packbench bench API",
			"version": firstNonEmpty(version, "dev"),
			"description": "The packing bench's own API. Every call except GET /api/v1/health needs the API key " +
				"as Authorization: Bearer <key> or X-Api-Key: <key>; only the event stream (EventSource cannot set " +
				"headers) also accepts ?key=<key>. Errors are always {\"error\":{\"code\",\"message\",\"field\"}}. " +
				"A Host header that is not one of the bench's names or addresses gets 421 host_not_allowed; a body over " +
				"[api] max_body gets 413 body_too_large and the connection closes; a connection over [api] max_connections " +
				"gets 503 too_many_connections. List pages end early, with next set, at 1 MiB of items. " +
				"A paired bench screen sends its kiosk token (POST /api/v1/kiosks/pair) like a key: it is accepted on the " +
				"operations marked x-packbench-kiosk (scan, weigh, print) and refused with 403 forbidden on every other.",
		},
		"security": []any{map[string]any{"bearer": []string{}}, map[string]any{"apiKeyHeader": []string{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer":           map[string]any{"type": "http", "scheme": "bearer", "description": "the API key; on POST /api/v1/print and GET /api/v1/jobs/{id}(/events) also a print token (pbt_…, POST /api/v1/print-tokens), which reads only the jobs it printed"},
				"apiKeyHeader":     map[string]any{"type": "apiKey", "in": "header", "name": "X-Api-Key"},
				"apiKeyQuery":      map[string]any{"type": "apiKey", "in": "query", "name": "key", "description": "only on the event streams (GET /api/v1/scale/events, GET /api/v1/jobs/{id}/events)"},
				"flowClientID":     map[string]any{"type": "apiKey", "in": "header", "name": "client_id", "description": "a Flow credential's client id (POST /api/v1/flow-credentials); Packrooster routes only"},
				"flowClientSecret": map[string]any{"type": "apiKey", "in": "header", "name": "client_secret", "description": "its client secret"},
				"flowBasic":        map[string]any{"type": "http", "scheme": "basic", "description": "client id and secret as Basic user and password; Packrooster routes only"},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// operationID makes "getJobsId"-style ids from a method and path.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(strings.TrimPrefix(path, "/api/v1"), func(r rune) bool { return r == '/' || r == '-' || r == '.' }) {
		part = strings.Trim(part, "{}")
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// schemaGen turns Go types into OpenAPI schemas, named structs becoming
// components.
type schemaGen struct {
	defs map[string]any
}

var (
	timeType          = reflect.TypeOf(time.Time{})
	rawType           = reflect.TypeOf(json.RawMessage{})
	numberType        = reflect.TypeOf(json.Number(""))
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

func (g *schemaGen) schemaOf(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"description": "any JSON value"}
	case t == numberType:
		return map[string]any{"type": "number"}
	case customSchemas[t] != nil:
		return g.component(t, customSchemas[t])
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) && t.Kind() != reflect.Struct:
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{"description": "any JSON value"}
	case reflect.Struct:
		if t.Name() == "" {
			return g.structSchema(t)
		}
		return g.component(t, func() map[string]any { return g.structSchema(t) })
	}
	return map[string]any{}
}

// component registers t under its Go name (qualified by package when two
// packages use the same name) and returns a $ref to it.
func (g *schemaGen) component(t reflect.Type, build func() map[string]any) map[string]any {
	name := strings.ToUpper(t.Name()[:1]) + t.Name()[1:] // unexported request types too
	if prev, ok := g.defs[name]; ok {
		if m, ok := prev.(map[string]any); ok && m["x-go-type"] != t.String() {
			name = strings.ReplaceAll(t.String(), ".", "_")
		}
	}
	ref := map[string]any{"$ref": "#/components/schemas/" + name}
	if _, ok := g.defs[name]; ok {
		return ref
	}
	g.defs[name] = map[string]any{"x-go-type": t.String()} // placeholder against recursion
	s := build()
	s["x-go-type"] = t.String()
	g.defs[name] = s
	return ref
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			emb := g.structSchema(f.Type)
			for k, v := range emb["properties"].(map[string]any) {
				props[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		sch := g.schemaOf(f.Type)
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			// Documented, not enforced: "required" would be wrong for the
			// request side of types used both ways.
			sch = map[string]any{"allOf": []any{sch}, "description": "omitted when empty"}
		}
		props[name] = sch
	}
	return map[string]any{"type": "object", "properties": props}
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(s.openapi)
	return nil
}
