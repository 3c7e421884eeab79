package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/datadir"
)

// The daemon's API as the CLI reaches it.
const (
	defaultAPIURL = "http://localhost:8080"
	apiTimeout    = 30 * time.Second
	maxAnswer     = 16 << 20
)

// clientFlags are the flags every API-backed subcommand takes.
type clientFlags struct {
	url, key, dataDir string
	getenv            func(string) string
}

// addClientFlags registers --url, --key and --data-dir on fs.
func addClientFlags(fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{getenv: os.Getenv}
	fs.StringVar(&f.url, "url", "", "daemon `URL` (default $PACKBENCH_URL, else "+defaultAPIURL+")")
	fs.StringVar(&f.key, "key", "", "API `KEY` (default $PACKBENCH_API_KEY, else DIR/api-key)")
	fs.StringVar(&f.dataDir, "data-dir", "", "data `DIR` holding the daemon's api-key file")
	return f
}

// apiClient calls the daemon's /api/v1.
type apiClient struct {
	base *url.URL
	key  string
	hc   *http.Client
}

// client resolves the URL and the key. The key comes from --key, then
// $PACKBENCH_API_KEY, then the key file the daemon generated; needKey false
// allows none (health needs no key).
func (f *clientFlags) client(needKey bool) (*apiClient, error) {
	raw := f.url
	if raw == "" {
		raw = f.getenv("PACKBENCH_URL")
	}
	if raw == "" {
		raw = defaultAPIURL
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://HOST:PORT", raw)
	}
	key := f.key
	if key == "" {
		key = f.getenv("PACKBENCH_API_KEY")
	}
	if key == "" {
		dir := f.dataDir
		if dir == "" {
			dir, err = dataDirFrom(f.getenv, os.UserHomeDir)
		}
		if err == nil {
			var b []byte
			if b, err = os.ReadFile(filepath.Join(dir, datadir.KeyFile)); err == nil {
				key = strings.TrimSpace(string(b))
			}
		}
		if key == "" && needKey {
			return nil, fmt.Errorf("no API key: pass --key, set PACKBENCH_API_KEY, or pass --data-dir of the daemon (reading its api-key: %v)", err)
		}
	}
	return &apiClient{base: u, key: key, hc: &http.Client{Timeout: apiTimeout}}, nil
}

// apiError is the daemon's JSON error: {"error":{"code","message","field"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Action is the next step the bench suggests (a station refusal).
	Action string `json:"action,omitempty"`
	// Body is the answer when it was not the error document.
	Body []byte `json:"-"`
}

func (e *apiError) Error() string {
	msg := e.Message
	if e.Field != "" && !strings.HasPrefix(msg, e.Field+": ") {
		msg = e.Field + ": " + msg
	}
	if e.Action != "" {
		msg += " " + e.Action
	}
	return fmt.Sprintf("the bench says: %s (%d %s)", msg, e.Status, e.Code)
}

// errNoDaemon marks a daemon that could not be reached at all.
var errNoDaemon = errors.New("daemon not reachable")

// do sends in as JSON (nil: no body) and decodes the answer into out (nil:
// discard). Non-2xx answers become *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w at %s: %v", errNoDaemon, c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != nil {
			e.Error.Status = resp.StatusCode
			return e.Error
		}
		return &apiError{Status: resp.StatusCode, Code: "http_error", Body: data,
			Message: fmt.Sprintf("%s %s: %s", method, path, cell(strings.TrimSpace(string(data)), 200))}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
