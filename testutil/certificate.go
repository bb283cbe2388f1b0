package testutil

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"
)

// SelfSignedCertificate returns a certificate for key, signed by key, named
// commonName and valid from an hour ago to an hour from now: what a client
// registers at an authority that identifies client keys by certificate
// (Entra ID, or a [Client] with a Certificate). Its Raw field is the DER.
func SelfSignedCertificate(key crypto.Signer, commonName string) (*x509.Certificate, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
