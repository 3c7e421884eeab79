package api

import (
	"embed"
	"io/fs"
	"net/http"
)

// webFiles is the bench page: plain HTML, CSS and JavaScript with no build
// step, embedded so the page works on a bench without internet.
//
//go:embed web
var webFiles embed.FS

// webCSP keeps the page to its own files: no inline script, no CDN. Label
// previews are fetched with the key and shown as blob: URLs.
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// handleWeb registers the page on the mux: GET / (the page) and GET /web/
// (its assets). They are not API routes (Routes and the OpenAPI document
// leave them out) and need no key: the files hold no data. Everything the
// page shows it reads through the API with the key the user enters, except
// the health banner, which is public anyway.
func (s *Server) handleWeb() {
	site, err := fs.Sub(webFiles, "web")
	if err != nil { // only if the embed directive above changes
		panic("api: embedded web files: " + err.Error())
	}
	assets := http.StripPrefix("/web", http.FileServerFS(site))
	s.mux.Handle("GET /{$}", webHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, site, "index.html")
	})))
	s.mux.Handle("GET /web/", webHeaders(assets))
}

// webHeaders adds the page's security and cache headers. no-cache (revalidate
// every time) because embedded files carry no modification time: after an
// update the bench must not keep the old script.
func webHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", webCSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
