package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/packbench/packbench/firmware"
	"github.com/packbench/packbench/internal/datadir"
)

const firmwareUsage = `usage: packbench firmware <command> [flags]

release tooling (keys and signatures interoperate with Debian's minisign):
  keygen --out PREFIX                 write PREFIX.pub and PREFIX.key (password-less, 0600)
  sign --key PREFIX.key FILE...       write FILE.minisig for each FILE
  verify --key KEY.pub [--sig SIG] FILE
                                      check FILE against FILE.minisig (or SIG)
  release --key PREFIX.key --version V [--min-version V] [--channel C] [--notes TEXT]
          [--os OS --arch ARCH --arm N] [--out DIR] BINARY
                                      write DIR/manifest.json and both signatures, and
                                      copy BINARY to DIR/packbenchd

on the bench (DIR defaults to $PACKBENCH_DATA_DIR, else the daemon's default):
  apply [--data-dir DIR] [--trust KEY] [--sig SIG] MANIFEST|https-URL
                                      verify, stage and switch; restart packbenchd to run it
  status [--data-dir DIR] [--json]    installed, previous and pending versions, last outcome
  boot-check [--data-dir DIR]         what packbenchd does before it starts: finish an
                                      interrupted update, count starts, roll back; prints the
                                      binary to run ("" for the packaged one)

The trusted key (--trust) is a key file or the "RW..." key itself; default
` + firmware.DefaultTrustedKey + `.
`

func runFirmware(ctx context.Context, std *stdio, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(std.err, firmwareUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("firmware "+sub, flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, firmwareUsage) }
	switch sub {
	case "keygen":
		out := fs.String("out", "", "key file `PREFIX`")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if *out == "" || fs.NArg() > 0 {
			fs.Usage()
			return errUsage
		}
		pub, err := firmware.Keygen(*out)
		if err != nil {
			return err
		}
		fmt.Fprintf(std.out, "wrote %s.pub and %s.key; the bench trusts: %s\n", *out, *out, pub.String())
		return nil
	case "sign":
		key := fs.String("key", "", "secret key `FILE`")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if *key == "" || fs.NArg() == 0 {
			fs.Usage()
			return errUsage
		}
		k, err := firmware.LoadPrivateKey(*key)
		if err != nil {
			return err
		}
		for _, f := range fs.Args() {
			if err := firmware.SignFile(k, f); err != nil {
				return err
			}
			fmt.Fprintf(std.out, "wrote %s%s\n", f, firmware.SigSuffix)
		}
		return nil
	case "verify":
		key := fs.String("key", "", "public key `FILE` (or the RW... key)")
		sig := fs.String("sig", "", "signature `FILE` (default FILE.minisig)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if *key == "" || fs.NArg() != 1 {
			fs.Usage()
			return errUsage
		}
		k, err := firmware.TrustedKey(*key)
		if err != nil {
			return err
		}
		if err := firmware.VerifyFile(k, fs.Arg(0), *sig); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "%s: signature verified\n", fs.Arg(0))
		return nil
	case "release":
		return firmwareRelease(std, fs, rest)
	case "apply", "status", "boot-check":
		dataDir := fs.String("data-dir", "", "data `DIR` of the bench")
		trust := fs.String("trust", "", "trusted release `KEY` (file or RW... key)")
		sig := fs.String("sig", "", "manifest signature `FILE` (default MANIFEST.minisig)")
		asJSON := fs.Bool("json", false, "status as JSON")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		dir := *dataDir
		if dir == "" {
			var err error
			if dir, err = defaultDataDir(); err != nil {
				return err
			}
		}
		opts := &firmware.Options{Events: func(e firmware.Event) {
			if e.Type == "progress" {
				fmt.Fprintf(std.err, "\rdownloaded %d of %d bytes", e.Done, e.Total)
				if e.Done == e.Total {
					fmt.Fprintln(std.err)
				}
			}
		}}
		if sub == "apply" {
			if fs.NArg() != 1 {
				fs.Usage()
				return errUsage
			}
			k, err := firmware.TrustedKey(*trust)
			if err != nil {
				return err
			}
			opts.Key = &k
		}
		s := firmware.Open(filepath.Join(dir, datadir.FirmwareDir), opts)
		switch sub {
		case "apply":
			return firmwareApply(ctx, std, s, fs.Arg(0), *sig)
		case "boot-check":
			b, err := s.BootCheck()
			if err != nil {
				return err
			}
			fmt.Fprintln(std.out, b.Binary)
			return nil
		}
		st, err := s.Status()
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(std.out)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		printFirmwareStatus(std, st)
		return nil
	}
	fs.Usage()
	return fmt.Errorf("firmware: unknown command %q", sub)
}

func firmwareApply(ctx context.Context, std *stdio, s *firmware.Store, src, sigPath string) error {
	var sig []byte
	if sigPath != "" {
		var err error
		if sig, err = os.ReadFile(sigPath); err != nil {
			return fmt.Errorf("firmware: %w", err)
		}
	}
	var res firmware.Result
	var err error
	if strings.Contains(src, "://") {
		res, err = s.ApplyURL(ctx, nil, src, sig)
	} else {
		var b firmware.Bundle
		if b, err = firmware.FileBundle(src); err == nil {
			if sig != nil {
				b.ManifestSig = sig
			}
			res, err = s.Apply(ctx, b)
		}
	}
	if err != nil {
		return err
	}
	from := res.Previous
	if from == "" {
		from = "the packaged binary"
	}
	fmt.Fprintf(std.out, "switched to %s (from %s); restart packbenchd (systemctl restart packbenchd) to run it: it must report healthy or the bench goes back by itself\n", res.Version, from)
	return nil
}

func printFirmwareStatus(std *stdio, st firmware.Status) {
	name := func(v string) string {
		if v == "" {
			return "packaged binary"
		}
		return v
	}
	fmt.Fprintf(std.out, "current:  %s\nprevious: %s\n", name(st.Current), name(st.Previous))
	if st.Pending != nil {
		fmt.Fprintf(std.out, "pending:  %s (started %d times, not yet healthy)\n", st.Pending.Version, st.Pending.Starts)
	}
	if st.Floor != "" {
		fmt.Fprintf(std.out, "floor:    %s (no version below)\n", st.Floor)
	}
	if st.Last != nil {
		fmt.Fprintf(std.out, "last:     %s %s", st.Last.Result, st.Last.Version)
		if st.Last.Reason != "" {
			fmt.Fprintf(std.out, ": %s", st.Last.Reason)
		}
		fmt.Fprintln(std.out)
	}
}

func firmwareRelease(std *stdio, fs *flag.FlagSet, args []string) error {
	key := fs.String("key", "", "secret key `FILE`")
	var m firmware.Manifest
	fs.StringVar(&m.Version, "version", "", "release `VERSION` (MAJOR.MINOR.PATCH)")
	fs.StringVar(&m.MinVersion, "min-version", "", "no bench may go below this `VERSION` after installing")
	fs.StringVar(&m.Channel, "channel", "stable", "release `CHANNEL`")
	fs.StringVar(&m.Notes, "notes", "", "release `TEXT`")
	t := firmware.RunningTarget()
	fs.StringVar(&m.Target.OS, "os", t.OS, "target `GOOS`")
	fs.StringVar(&m.Target.Arch, "arch", t.Arch, "target `GOARCH`")
	fs.StringVar(&m.Target.ARM, "arm", "", "target `GOARM` (6 or 7) for --arch arm")
	out := fs.String("out", ".", "output `DIR`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" || m.Version == "" || fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	if m.Target.Arch != "arm" {
		m.Target.ARM = ""
	}
	k, err := firmware.LoadPrivateKey(*key)
	if err != nil {
		return err
	}
	if err := firmware.WriteRelease(k, m, fs.Arg(0), *out); err != nil {
		return err
	}
	fmt.Fprintf(std.out, "wrote %s/manifest.json and %s/packbenchd with their signatures\n", *out, *out)
	return nil
}
