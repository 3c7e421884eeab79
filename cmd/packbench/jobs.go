package main

import (
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
	"text/tabwriter"
	"unicode"

	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
)

const jobsUsage = `usage: packbench jobs [--data-dir DIR] [--url URL] [--key KEY] <command> [flags]

commands:
  list [--state S] [--printer P] [--limit N] [--json]   list jobs, oldest first
  show ID [--json | --payload]                          one job with its history
  retry ID [--reason TEXT]                              queue a failed, uncertain or sent job again
  cancel ID [--reason TEXT]                             cancel a queued, failed or uncertain job
  mark-printed ID [--reason TEXT]                       record that a job did print

The data file is DIR/packbench.db. DIR defaults to $PACKBENCH_DATA_DIR, else
$STATE_DIRECTORY, else $XDG_STATE_HOME/packbench, else ~/.local/state/packbench.
When packbenchd is running it holds the file: the commands then go through
its API at --url (default $PACKBENCH_URL, else the address the daemon
recorded in DIR/api-url, else the one bench found on the LAN by mDNS, else
http://localhost:8080) with --key (default $PACKBENCH_API_KEY, else
DIR/api-key). --url forces the API. Flags may follow the command or its
subcommand.
`

// runJobs lists and changes the bench's jobs in the data file.
func runJobs(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, jobsUsage) }
	var where jobsWhere
	fs.StringVar(&where.dataDir, "data-dir", "", "data `DIR` holding packbench.db")
	fs.StringVar(&where.url, "url", "", "daemon `URL` to use instead of the file")
	fs.StringVar(&where.key, "key", "", "API `KEY` for --url")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usagef("jobs: give a command: list, show, retry, cancel or mark-printed")
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	switch sub {
	case "list":
		return jobsList(ctx, std, where, rest)
	case "show":
		return jobsShow(ctx, std, where, rest)
	case "retry", "cancel", "mark-printed":
		return jobsChange(ctx, std, where, sub, rest)
	case "help", "-h", "--help":
		fs.Usage()
		return nil
	}
	fs.Usage()
	return usagef("jobs: unknown command %q", sub)
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("show ID --json"), returning the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// jobsWhere says where the jobs are: the data file, or the daemon's API.
type jobsWhere struct{ dataDir, url, key string }

func subFlags(std *stdio, name string, w jobsWhere) (*flag.FlagSet, *jobsWhere) {
	fs := flag.NewFlagSet("jobs "+name, flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.StringVar(&w.dataDir, "data-dir", w.dataDir, "data `DIR` holding packbench.db")
	fs.StringVar(&w.url, "url", w.url, "daemon `URL` to use instead of the file")
	fs.StringVar(&w.key, "key", w.key, "API `KEY` for --url")
	return fs, &w
}

// openJobs opens the data file, or returns a client for the daemon's API
// when --url is given or the running daemon holds the file.
func openJobs(ctx context.Context, std *stdio, w *jobsWhere) (*queue.DB, *apiClient, error) {
	var locked error
	if w.url == "" {
		db, err := openData(std, w.dataDir)
		if !errors.Is(err, queue.ErrLocked) {
			return db, nil, err
		}
		locked = err
	}
	cf := &clientFlags{url: w.url, key: w.key, dataDir: w.dataDir, getenv: os.Getenv}
	c, err := cf.client(ctx, true)
	if err != nil {
		if locked != nil {
			return nil, nil, fmt.Errorf("%w; going through its API instead failed: %v", locked, err)
		}
		return nil, nil, err
	}
	return nil, c, nil
}

// openData opens the data file, which must already exist: listing a
// directory the daemon never used should not create a new, empty bench.
func openData(std *stdio, dataDir string) (*queue.DB, error) {
	if dataDir == "" {
		d, err := defaultDataDir()
		if err != nil {
			return nil, err
		}
		dataDir = d
	}
	path := filepath.Join(dataDir, datadir.DataFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no data file at %s (has packbenchd run here? pass --data-dir or set PACKBENCH_DATA_DIR)", path)
		}
		return nil, err
	}
	db, err := queue.Open(path, nil)
	if errors.Is(err, queue.ErrLocked) {
		return nil, fmt.Errorf("%s is in use by another process, probably the running packbenchd (%w)", path, queue.ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	if rec := db.Recovered(); len(rec) > 0 {
		fmt.Fprintf(std.err, "packbench: %d job(s) were being sent when the bench stopped and are now uncertain (check the labels, then retry or mark-printed): %v\n", len(rec), rec)
	}
	if req := db.Requeued(); len(req) > 0 {
		fmt.Fprintf(std.err, "packbench: %d job(s) were claimed but never sent when the bench stopped and are queued again: %v\n", len(req), req)
	}
	return db, nil
}

func jobsList(ctx context.Context, std *stdio, where jobsWhere, args []string) error {
	fs, dir := subFlags(std, "list", where)
	state := fs.String("state", "", "only jobs in `STATE` (queued, sending, sent, printed, failed, cancelled, uncertain)")
	printer := fs.String("printer", "", "only jobs for `PRINTER`")
	limit := fs.Int("limit", 0, "at most `N` jobs (0: all)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("jobs list: unexpected argument %q", pos[0])
	}
	o := queue.ListOptions{Printer: *printer, Limit: *limit}
	if *state != "" {
		s, err := queue.ParseState(*state)
		if err != nil {
			return fmt.Errorf("jobs list: --state: %w", err)
		}
		o.State = s
	}
	if *limit < 0 {
		return fmt.Errorf("jobs list: --limit %d: want 0 or more", *limit)
	}
	db, c, err := openJobs(ctx, std, dir)
	if err != nil {
		return err
	}
	var jobs []queue.Job
	if c != nil {
		jobs, err = c.listJobs(ctx, o)
	} else {
		defer db.Close()
		jobs, err = db.List(ctx, o)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if jobs == nil {
			jobs = []queue.Job{}
		}
		return writeJSON(std.out, jobs)
	}
	if len(jobs) == 0 {
		fmt.Fprintln(std.out, "no jobs")
		return nil
	}
	tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPRINTER\tSOURCE\tCOPIES\tTRIES\tUPDATED\tKEY\tLAST ERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", j.ID, j.State, cell(j.Printer, 24), j.Source, j.Copies, j.Attempts,
			j.UpdatedAt.Local().Format("2006-01-02 15:04:05"), cell(j.Key, 32), cell(j.LastError, 48))
	}
	return tw.Flush()
}

func jobsShow(ctx context.Context, std *stdio, where jobsWhere, args []string) error {
	fs, dir := subFlags(std, "show", where)
	asJSON := fs.Bool("json", false, "print JSON")
	payload := fs.Bool("payload", false, "write the raw payload (ZPL, PNG or label spec) to stdout")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID("show", pos)
	if err != nil {
		return err
	}
	db, c, err := openJobs(ctx, std, dir)
	if err != nil {
		return err
	}
	var j queue.Job
	if c != nil {
		if *payload {
			return errors.New("jobs show --payload: packbenchd holds the data file; stop it to read payloads, or fetch the label with GET /api/v1/labels/{id}.zpl")
		}
		err = c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id.String()), nil, &j)
	} else {
		defer db.Close()
		j, err = db.Job(ctx, id)
	}
	if err != nil {
		return err
	}
	switch {
	case *payload:
		_, err := std.out.Write(j.Payload)
		return err
	case *asJSON:
		return writeJSON(std.out, j)
	}
	tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("id", j.ID.String())
	row("state", string(j.State))
	row("printer", cell(j.Printer, 0))
	row("source", string(j.Source))
	row("key", cell(j.Key, 0))
	if j.Ref != "" {
		row("ref", cell(j.Ref, 0))
	}
	row("payload", fmt.Sprintf("%s, %d bytes", j.ContentType, j.PayloadSize))
	if j.CopiesSent > 0 {
		row("copies", fmt.Sprintf("%d (%d sent)", j.Copies, j.CopiesSent))
	} else {
		row("copies", fmt.Sprint(j.Copies))
	}
	row("attempts", fmt.Sprint(j.Attempts))
	if j.LastError != "" {
		row("last error", cell(j.LastError, 0))
	}
	row("created", j.CreatedAt.Local().Format("2006-01-02 15:04:05.000"))
	row("updated", j.UpdatedAt.Local().Format("2006-01-02 15:04:05.000"))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(std.out, "\nhistory:")
	tw = tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	// The outbox event ids are internal (in --json for who needs them).
	fmt.Fprintln(tw, "  AT\tFROM\tTO\tREASON")
	for _, h := range j.History {
		from := string(h.From)
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.At.Local().Format("2006-01-02 15:04:05.000"), from, h.To, cell(h.Reason, 0))
	}
	return tw.Flush()
}

func jobsChange(ctx context.Context, std *stdio, where jobsWhere, op string, args []string) error {
	fs, dir := subFlags(std, op, where)
	reason := fs.String("reason", "", "why, kept in the job's history (default: by operator via packbench jobs)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(op, pos)
	if err != nil {
		return err
	}
	db, c, err := openJobs(ctx, std, dir)
	if err != nil {
		return err
	}
	if c != nil {
		var j queue.Job
		body := map[string]string{"reason": orText(*reason, op+" by operator (packbench jobs)")}
		if err := c.do(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(id.String())+"/"+op, body, &j); err != nil {
			return err
		}
		printChange(std, j)
		return nil
	}
	defer db.Close()
	var j queue.Job
	switch op {
	case "retry":
		j, err = db.Retry(ctx, id, orText(*reason, "retried by operator (packbench jobs)"))
	case "cancel":
		j, err = db.Cancel(ctx, id, orText(*reason, "cancelled by operator (packbench jobs)"))
	case "mark-printed":
		j, err = db.MarkPrinted(ctx, id, orText(*reason, "marked printed by operator (packbench jobs)"))
	}
	if err != nil {
		return err
	}
	printChange(std, j)
	return db.Close()
}

func printChange(std *stdio, j queue.Job) {
	if len(j.History) == 0 {
		fmt.Fprintf(std.out, "job %s: %s\n", j.ID, j.State)
		return
	}
	last := j.History[len(j.History)-1]
	fmt.Fprintf(std.out, "job %s: %s → %s\n", j.ID, last.From, last.To)
}

// listJobs pages through GET /api/v1/jobs.
func (c *apiClient) listJobs(ctx context.Context, o queue.ListOptions) ([]queue.Job, error) {
	var all []queue.Job
	after := ""
	for {
		q := url.Values{}
		if o.State != "" {
			q.Set("state", string(o.State))
		}
		if o.Printer != "" {
			q.Set("printer", o.Printer)
		}
		if after != "" {
			q.Set("after", after)
		}
		if o.Limit > 0 {
			q.Set("limit", fmt.Sprint(o.Limit-len(all)))
		}
		var page struct {
			Jobs []queue.Job `json:"jobs"`
			Next string      `json:"next"`
		}
		path := "/api/v1/jobs"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Jobs...)
		if page.Next == "" || len(page.Jobs) == 0 || (o.Limit > 0 && len(all) >= o.Limit) {
			return all, nil
		}
		after = page.Next
	}
}

func oneID(op string, pos []string) (queue.JobID, error) {
	if len(pos) != 1 {
		return 0, fmt.Errorf("jobs %s: want one job ID (like j00000042), got %d arguments", op, len(pos))
	}
	id, err := queue.ParseJobID(pos[0])
	if err != nil {
		return 0, fmt.Errorf("jobs %s: %w", op, err)
	}
	return id, nil
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cell makes stored text safe for one table cell: control characters
// (tabs, newlines, escape sequences) become spaces; max > 0 truncates.
func cell(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
