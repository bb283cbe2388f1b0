package gateway

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// maxClientKeySize bounds the -client-key and -client-cert files.
const maxClientKeySize = 64 << 10

// clientKey is what the -client-key file gives: the signer, and from a JWK
// its "kid" and "alg" (empty from PEM).
type clientKey struct {
	signer crypto.Signer
	kid    string
	alg    string
}

// loadClientKey reads the gateway's private key for private_key_jwt from
// the file at path: PEM (PKCS#8, PKCS#1 RSA or SEC1 EC; other blocks such
// as EC PARAMETERS are skipped) or a JWK in JSON, parsed with the standard
// library. A non-empty kid is the key's "kid" when the file gives none; a
// different one is an error. The errors say what is wrong with the file,
// never what it holds.
func loadClientKey(path, kid string) (clientKey, error) {
	data, err := readLimited(path, maxClientKeySize)
	if err != nil {
		return clientKey{}, err
	}
	key, err := parseClientKey(data)
	if err != nil {
		return clientKey{}, err
	}
	if err := checkClientKey(key.signer); err != nil {
		return clientKey{}, err
	}
	if kid != "" {
		switch {
		case key.kid == "":
			key.kid = kid
		case key.kid != kid:
			return clientKey{}, fmt.Errorf("the key has kid %q, -client-key-id says %q", key.kid, kid)
		}
	}
	return key, nil
}

// loadClientCert reads the certificate registered for the gateway's key
// (sent as x5t#S256, as Entra ID requires) from the PEM file at path: its
// first CERTIFICATE block.
func loadClientCert(path string) (*x509.Certificate, error) {
	data, err := readLimited(path, maxClientKeySize)
	if err != nil {
		return nil, err
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no CERTIFICATE block: want a PEM certificate")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("cannot parse its CERTIFICATE block")
		}
		return cert, nil
	}
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

// parseClientKey parses a PEM private key or a JWK. The parsers' own
// errors are not passed on: they may quote the input.
func parseClientKey(data []byte) (clientKey, error) {
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		return parseJWK(trimmed)
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
		var parse func([]byte) (any, error)
		switch block.Type {
		case "PRIVATE KEY":
			parse = x509.ParsePKCS8PrivateKey
		case "RSA PRIVATE KEY":
			parse = func(der []byte) (any, error) { return x509.ParsePKCS1PrivateKey(der) }
		case "EC PRIVATE KEY":
			parse = func(der []byte) (any, error) { return x509.ParseECPrivateKey(der) }
		case "ENCRYPTED PRIVATE KEY":
			return clientKey{}, errors.New("an encrypted private key: decrypt it first (openssl pkcs8 -nocrypt)")
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
			return clientKey{}, errors.New("an encrypted private key: decrypt it first (openssl pkcs8 -nocrypt)")
		}
		key, err := parse(block.Bytes)
		if err != nil {
			return clientKey{}, fmt.Errorf("cannot parse its %s block", block.Type)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return clientKey{}, errors.New("want an RSA, EC or Ed25519 private key")
		}
		return clientKey{signer: signer}, nil
	}
	switch others {
	case 0:
	case 1:
		types = append(types, "1 with another label")
	default:
		types = append(types, fmt.Sprintf("%d with other labels", others))
	}
	if len(types) > 0 {
		return clientKey{}, fmt.Errorf("no private key among its PEM blocks (%s): want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", strings.Join(types, ", "))
	}
	return clientKey{}, errors.New("neither PEM nor a JWK in JSON")
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
// with: RSA, EC on P-256, P-384 or P-521, or Ed25519. The authority
// package checks the rest (the RSA size, a probe signature).
func checkClientKey(key crypto.Signer) error {
	switch pub := key.Public().(type) {
	case *rsa.PublicKey, ed25519.PublicKey:
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("EC curve %s: want P-256, P-384 or P-521", pub.Curve.Params().Name)
		}
	default:
		return errors.New("want an RSA, EC or Ed25519 private key")
	}
	return nil
}
