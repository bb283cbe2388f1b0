package gateway

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// maxClientKeySize bounds the -client-key file.
const maxClientKeySize = 64 << 10

// loadClientKey reads the gateway's private key for private_key_jwt from
// the file at path: PEM (PKCS#8, PKCS#1 RSA or SEC1 EC; other blocks such
// as EC PARAMETERS are skipped) or a JWK in JSON. A non-empty kid is set
// as the key's "kid" when the file gives none; a different one is an
// error. The errors say what is wrong with the file, never what it holds.
func loadClientKey(path, kid string) (jwk.Key, error) {
	data, err := readLimited(path, maxClientKeySize)
	if err != nil {
		return nil, err
	}
	key, err := parseClientKey(data)
	if err != nil {
		return nil, err
	}
	if err := checkClientKey(key); err != nil {
		return nil, err
	}
	if kid != "" {
		switch have := key.KeyID(); {
		case have == "":
			if err := key.Set(jwk.KeyIDKey, kid); err != nil {
				return nil, fmt.Errorf("setting the kid: %w", err)
			}
		case have != kid:
			return nil, fmt.Errorf("the key has kid %q, -client-key-id says %q", have, kid)
		}
	}
	return key, nil
}

// readLimited reads the file at path, refusing one larger than limit
// bytes. Its errors name the problem, not the content.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // *PathError: the caller names the path
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d KiB", limit>>10)
	}
	return data, nil
}

// parseClientKey parses a PEM private key or a JWK. jwx's own errors are
// not passed on: they may quote the input.
func parseClientKey(data []byte) (jwk.Key, error) {
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		// A JWK Set is an object with a "keys" member; a key whose kid
		// or other value is "keys" is not one. encoding/json matches
		// member names without regard to case, so "Keys" counts too.
		var set struct {
			Keys json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(trimmed, &set); err != nil {
			return nil, errors.New("not a valid JWK")
		}
		if set.Keys != nil {
			return nil, errors.New("a JWK Set: want a single JWK (one key object, not {\"keys\":[...]})")
		}
		key, err := jwk.ParseKey(trimmed)
		if err != nil {
			return nil, errors.New("not a valid JWK")
		}
		return key, nil
	}
	rest := data
	var (
		types  []string // known labels, each once
		others int      // blocks with any other label, which is not quoted
	)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("an encrypted private key: decrypt it first (openssl pkcs8 -nocrypt)")
		default:
			switch {
			case !knownPEMLabel(block.Type):
				others++
			case !slices.Contains(types, block.Type):
				types = append(types, block.Type)
			}
			continue
		}
		if _, encrypted := block.Headers["DEK-Info"]; encrypted {
			return nil, errors.New("an encrypted private key: decrypt it first (openssl pkcs8 -nocrypt)")
		}
		key, err := jwk.ParseKey(pem.EncodeToMemory(block), jwk.WithPEM(true))
		if err != nil {
			return nil, fmt.Errorf("cannot parse its %s block", block.Type)
		}
		return key, nil
	}
	switch others {
	case 0:
	case 1:
		types = append(types, "1 with another label")
	default:
		types = append(types, fmt.Sprintf("%d with other labels", others))
	}
	if len(types) > 0 {
		return nil, fmt.Errorf("no private key among its PEM blocks (%s): want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", strings.Join(types, ", "))
	}
	return nil, errors.New("neither PEM nor a JWK in JSON")
}

// knownPEMLabel reports whether label is one of the usual PEM labels of
// keys and certificates. Only those are quoted in an error: a label is
// free text, and the file may be something else than a key.
func knownPEMLabel(label string) bool {
	switch label {
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "EC PARAMETERS",
		"PUBLIC KEY", "CERTIFICATE", "ENCRYPTED PRIVATE KEY":
		return true
	}
	return false
}

// checkClientKey accepts a private key that private_key_jwt can sign
// with: RSA, EC on P-256, P-384 or P-521, or Ed25519, with a signature
// "alg" if it has one.
func checkClientKey(key jwk.Key) error {
	switch k := key.(type) {
	case jwk.RSAPrivateKey:
	case jwk.ECDSAPrivateKey:
		switch k.Crv() {
		case jwa.P256, jwa.P384, jwa.P521:
		default:
			return fmt.Errorf("EC curve %s: want P-256, P-384 or P-521", k.Crv())
		}
	case jwk.OKPPrivateKey:
		if k.Crv() != jwa.Ed25519 {
			return fmt.Errorf("OKP curve %s: want Ed25519", k.Crv())
		}
	case jwk.RSAPublicKey, jwk.ECDSAPublicKey, jwk.OKPPublicKey:
		return errors.New("a public key: want the private key (the authority holds the public one)")
	case jwk.SymmetricKey:
		return errors.New("a symmetric key: private_key_jwt needs an RSA, EC or Ed25519 private key")
	default:
		return errors.New("want an RSA, EC or Ed25519 private key")
	}
	if a := key.Algorithm(); a != nil && a.String() != "" {
		var alg jwa.SignatureAlgorithm
		if err := alg.Accept(a.String()); err != nil || alg == jwa.NoSignature || strings.HasPrefix(alg.String(), "HS") {
			return fmt.Errorf("alg %q is not a signature algorithm for this key", a.String())
		}
	}
	return nil
}
