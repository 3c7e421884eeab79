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
	"slices"
	"strings"
	"time"

	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/uplink"
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
	// discover finds the benches on the LAN; nil: mDNS (discoverBenches).
	discover func(ctx context.Context) ([]benchListing, error)
}

// addClientFlags registers --url, --key and --data-dir on fs.
func addClientFlags(fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{getenv: os.Getenv}
	fs.StringVar(&f.url, "url", "", "daemon `URL` (default: $PACKBENCH_URL, else the daemon's record in DIR/"+datadir.URLFile+", else the one bench on the LAN, else "+defaultAPIURL+")")
	fs.StringVar(&f.key, "key", "", "API `KEY` (default $PACKBENCH_API_KEY, else DIR/api-key)")
	fs.StringVar(&f.dataDir, "data-dir", "", "data `DIR` holding the daemon's api-key file")
	return f
}

// apiClient calls the daemon's /api/v1.
type apiClient struct {
	base *url.URL
	from string // where the URL came from, for errors
	key  string
	hc   *http.Client
}

// autoDiscoverWait is how long the CLI listens for benches when nothing
// else names the daemon.
const autoDiscoverWait = time.Second

// client resolves the URL (resolveURL) and the key. The key comes from
// --key, then $PACKBENCH_API_KEY, then the key file the daemon generated;
// needKey false allows none (health needs no key).
func (f *clientFlags) client(ctx context.Context, needKey bool) (*apiClient, error) {
	dir, dirErr := f.dataDir, error(nil)
	if dir == "" {
		dir, dirErr = dataDirFrom(f.getenv, os.UserHomeDir)
	}
	raw, from, err := f.resolveURL(ctx, dir, dirErr)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want http://HOST:PORT", from, raw)
	}
	key := f.key
	if key == "" {
		key = f.getenv("PACKBENCH_API_KEY")
	}
	if key == "" {
		err = dirErr
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
	return &apiClient{base: u, from: from, key: key, hc: &http.Client{Timeout: apiTimeout}}, nil
}

// resolveURL finds the daemon: --url, $PACKBENCH_URL, the data dir's
// record, the one bench on the LAN, the default. from says which, as
// errors show it.
func (f *clientFlags) resolveURL(ctx context.Context, dir string, dirErr error) (raw, from string, err error) {
	if f.url != "" {
		return f.url, "--url", nil
	}
	if v := f.getenv("PACKBENCH_URL"); v != "" {
		return v, "$PACKBENCH_URL", nil
	}
	if dirErr == nil {
		rec := filepath.Join(dir, datadir.URLFile)
		if b, err := os.ReadFile(rec); err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b)), "the daemon's record " + rec, nil
		}
	}
	discover := f.discover
	if discover == nil {
		discover = func(ctx context.Context) ([]benchListing, error) {
			return discoverBenches(ctx, autoDiscoverWait, []string{uplink.ServiceBench})
		}
	}
	found, derr := discover(ctx)
	found = slices.DeleteFunc(found, func(b benchListing) bool { return b.URL == "" }) // no address yet
	switch {
	case ctx.Err() != nil:
		return "", "", ctx.Err()
	case len(found) == 1:
		return found[0].URL, fmt.Sprintf("mDNS discovery (%q)", found[0].Name), nil
	case len(found) > 1:
		names := make([]string, len(found))
		for i, b := range found {
			names[i] = fmt.Sprintf("%q at %s", b.Name, b.URL)
		}
		return "", "", fmt.Errorf("%d benches answer on the LAN (%s): choose one with --url URL or $PACKBENCH_URL", len(found), strings.Join(names, ", "))
	}
	why := "no bench answered on the LAN"
	if derr != nil {
		why = "discovery failed: " + derr.Error()
	}
	return defaultAPIURL, "the default (no --url, no $PACKBENCH_URL, no record in " + dir + ", " + why + ")", nil
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
		return fmt.Errorf("%w at %s, from %s: %v; choose another with --url URL or $PACKBENCH_URL ('packbench discover' lists the benches on the LAN)", errNoDaemon, c.base, c.from, err)
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
