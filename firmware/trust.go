package firmware

import (
	"fmt"
	"os"
	"strings"

	"aead.dev/minisign"
)

// DefaultTrustedKey is where a bench finds the release key when the
// config names none: the packaged config directory.
const DefaultTrustedKey = "/etc/packbench/firmware.pub"

// TrustedKey reads the release key from spec: a minisign public key
// ("RW..." base64, as `minisign -P` takes it) or a file holding one.
func TrustedKey(spec string) (minisign.PublicKey, error) {
	if spec == "" {
		spec = DefaultTrustedKey
	}
	if strings.HasPrefix(spec, "RW") && !strings.ContainsAny(spec, "/\n") {
		return ParsePublicKey([]byte(spec))
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		return minisign.PublicKey{}, fmt.Errorf("firmware: trusted key: %w", err)
	}
	return ParsePublicKey(b)
}
