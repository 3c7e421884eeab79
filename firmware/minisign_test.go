package firmware_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/packbench/packbench/firmware"
)

// Debian's minisign (apt-get install minisign) is the other side.
func minisignTool(t *testing.T) string {
	p, err := exec.LookPath("minisign")
	if err != nil {
		t.Skip("minisign not installed (apt-get install -y minisign)")
	}
	return p
}

func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = nil
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func TestMinisignSignsOursVerifies(t *testing.T) {
	ms := minisignTool(t)
	dir := t.TempDir()
	pub, key, file := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key"), filepath.Join(dir, "packbenchd")
	os.WriteFile(file, []byte("a release binary\x00\x01"), 0o644)
	sh(t, ms, "-G", "-W", "-p", pub, "-s", key)
	k, err := firmware.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, legacy := range []bool{false, true} {
		args := []string{"-S", "-s", key, "-m", file}
		if legacy {
			args = append(args, "-l")
		}
		sh(t, ms, args...)
		if err := firmware.VerifyFile(k, file, ""); err != nil {
			t.Fatalf("legacy=%v: %v", legacy, err)
		}
		os.WriteFile(file+".bad", []byte("a release binary\x00\x02"), 0o644)
		if err := firmware.VerifyFile(k, file+".bad", file+firmware.SigSuffix); !errors.Is(err, firmware.ErrSignature) {
			t.Fatalf("legacy=%v: tampered file: %v", legacy, err)
		}
	}
	// Their password-less secret key signs with our code, and they verify it.
	priv, err := firmware.LoadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := firmware.SignFile(priv, file); err != nil {
		t.Fatal(err)
	}
	sh(t, ms, "-V", "-p", pub, "-m", file)
}

func TestOursSignsMinisignVerifies(t *testing.T) {
	ms := minisignTool(t)
	dir := t.TempDir()
	prefix, file := filepath.Join(dir, "release"), filepath.Join(dir, "packbenchd")
	os.WriteFile(file, []byte("another binary"), 0o644)
	if _, err := firmware.Keygen(prefix); err != nil {
		t.Fatal(err)
	}
	if _, err := firmware.Keygen(prefix); err == nil {
		t.Fatal("Keygen overwrote an existing key")
	}
	priv, err := firmware.LoadPrivateKey(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if err := firmware.SignFile(priv, file); err != nil {
		t.Fatal(err)
	}
	sh(t, ms, "-V", "-p", prefix+".pub", "-m", file)
	// Our secret key file is one their tool accepts (its checksum is right).
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("signed by minisign with our key"), 0o644)
	sh(t, ms, "-S", "-s", prefix+".key", "-m", other)
	k, _ := firmware.LoadPublicKey(prefix + ".pub")
	if err := firmware.VerifyFile(k, other, ""); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, []byte("another binarY"), 0o644)
	if err := exec.Command(ms, "-V", "-p", prefix+".pub", "-m", file).Run(); err == nil {
		t.Fatal("minisign verified a tampered file")
	}
}
