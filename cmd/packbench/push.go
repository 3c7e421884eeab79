package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packbench/packbench/uplink"
)

// mqttFlags are the broker flags push and watch share. The password comes
// from PACKBENCH_MQTT_PASSWORD only, so it never shows in ps.
type mqttFlags struct {
	url, username, caFile, certFile, keyFile, prefix string
	timeout                                          time.Duration
}

func (f *mqttFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", os.Getenv("PACKBENCH_MQTT_URL"), "broker URL, mqtt://host:1883 or mqtts://host:8883 (default $PACKBENCH_MQTT_URL)")
	fs.StringVar(&f.username, "username", os.Getenv("PACKBENCH_MQTT_USERNAME"), "broker user name (password from $PACKBENCH_MQTT_PASSWORD)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM CA that signs the broker's certificate")
	fs.StringVar(&f.certFile, "cert-file", "", "client certificate (mutual TLS)")
	fs.StringVar(&f.keyFile, "key-file", "", "client key (mutual TLS)")
	fs.StringVar(&f.prefix, "prefix", uplink.DefaultTopicPrefix, "topic prefix")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "connect and publish timeout")
}

func (f *mqttFlags) config() (uplink.Config, error) {
	if f.url == "" {
		return uplink.Config{}, fmt.Errorf("--url is required (or PACKBENCH_MQTT_URL)")
	}
	return uplink.Config{URL: f.url, Username: f.username, Password: os.Getenv("PACKBENCH_MQTT_PASSWORD"),
		CAFile: f.caFile, CertFile: f.certFile, KeyFile: f.keyFile, TopicPrefix: f.prefix}, nil
}

// runPush publishes one job to a bench or to a site's pool at QoS 1, then
// waits for the bench's answer on its events topic: it prints the job id
// and exits 0 once the job is queued, and fails with the bench's reason
// when the push is rejected. --no-wait prints the id once the broker has
// the push, as before.
func runPush(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(std.err)
	var mf mqttFlags
	mf.register(fs)
	bench := fs.String("bench", "", "device id of the bench to print on")
	pool := fs.String("pool", "", "site whose pool of benches takes the job")
	typ := fs.String("type", "", "label, zpl, png or order (default: from the file extension: .zpl, .png, .json = label)")
	id := fs.String("id", "", "job id, the idempotency key (default: random)")
	copies := fs.Int("copies", 0, "copies (0 means 1)")
	printer := fs.String("printer", "", "target printer on the bench")
	noWait := fs.Bool("no-wait", false, "return once the broker has the push, without waiting for the bench's answer")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the bench's job.queued or push.rejected event")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: packbench push --url mqtt://HOST [--bench ID | --pool SITE] [--type label|zpl|png|order] [--no-wait] [flags] FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usagef("push: want one FILE (or - for stdin), got %d", fs.NArg())
	}
	if (*bench == "") == (*pool == "") {
		return fmt.Errorf("push: give exactly one of --bench and --pool")
	}
	file := fs.Arg(0)
	if *typ == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".zpl", ".txt":
			*typ = uplink.PushZPL
		case ".png":
			*typ = uplink.PushPNG
		case ".json":
			*typ = uplink.PushLabel
		default:
			return fmt.Errorf("push: cannot tell the type of %q from its extension: give --type", file)
		}
	}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(std.in, 8<<20))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	job := uplink.PushJob{ID: *id, Type: *typ, Copies: *copies, Printer: *printer}
	switch *typ {
	case uplink.PushZPL:
		job.ZPL = string(data)
	case uplink.PushPNG:
		job.PNG = data
	case uplink.PushLabel, uplink.PushOrder:
		if !json.Valid(data) {
			return fmt.Errorf("push: %s: not valid JSON (a %s is a JSON object)", file, *typ)
		}
		if *typ == uplink.PushLabel {
			job.Label = data
		} else {
			job.Order = data
		}
	default:
		return fmt.Errorf("push: --type %q: want label, zpl, png or order", *typ)
	}
	cfg, err := mf.config()
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	cl, err := uplink.Dial(ctx, cfg, "", mf.timeout)
	if err != nil {
		return err
	}
	defer cl.Close()
	if *noWait {
		if err := cl.Push(ctx, *bench, *pool, &job); err != nil {
			return err
		}
		fmt.Fprintln(std.out, job.ID)
		return nil
	}
	where := "bench " + *bench
	if *pool != "" {
		where = "a bench of pool " + *pool
	}
	fmt.Fprintf(std.err, "push: waiting up to %s for %s to queue or reject %s\n", *wait, where, job.ID)
	a, err := cl.PushAndWait(ctx, *bench, *pool, &job, *wait)
	if errors.Is(err, uplink.ErrTimeout) {
		return fmt.Errorf("push: %s is with the broker, but %s did not answer within %s: "+
			"the bench may be offline (it takes the job when it is back), or already had a job with this id "+
			"(a repeated id queues nothing new): check with packbench watch or packbench jobs", job.ID, where, *wait)
	}
	if err != nil {
		return err
	}
	if r := a.Rejected; r != nil {
		reason := r.Rule
		if r.Field != "" {
			reason = r.Field + ": " + r.Rule
		}
		return fmt.Errorf("push: bench %s rejected %s: %s", a.Bench, job.ID, reason)
	}
	fmt.Fprintln(std.out, job.ID)
	if a.Event.JobID != 0 {
		fmt.Fprintf(std.err, "push: queued on bench %s as job %s\n", a.Bench, a.Event.JobID)
	} else {
		fmt.Fprintf(std.err, "push: order %s taken by bench %s; it prints when its parcel is weighed\n", a.Event.Key, a.Bench)
	}
	return nil
}
