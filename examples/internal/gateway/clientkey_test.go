package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// keyFiles writes test keys to a temporary directory and returns their
// paths by name.
func keyFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		files[name] = p
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	write("pkcs8.pem", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ec))))
	// openssl ecparam -genkey writes EC PARAMETERS first.
	write("sec1.pem", append(pemOf("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), pemOf("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ec)))...))
	write("public.pem", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&ec.PublicKey))))
	write("encrypted.pem", pemOf("ENCRYPTED PRIVATE KEY", []byte("xx")))
	write("broken.pem", pemOf("PRIVATE KEY", []byte("not DER at all")))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	write("pkcs1.pem", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)))
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	write("ed25519.pem", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(edKey))))
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	write("p224.pem", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(p224))))
	write("cert.pem", pemOf("CERTIFICATE", certificateDER(t, ec)))
	write("othercert.pem", pemOf("CERTIFICATE", certificateDER(t, rsaKey)))
	write("brokencert.pem", pemOf("CERTIFICATE", []byte("topsecret")))

	// JWKs written by an independent implementation (jwx, in the test
	// only), which the gateway reads with the standard library.
	jwkOf := func(raw any, set map[string]any) []byte {
		t.Helper()
		k, err := jwk.FromRaw(raw)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range set {
			if err := k.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
		return must(json.Marshal(k))
	}
	write("rsa.jwk", jwkOf(rsaKey, map[string]any{"alg": "PS256", "use": "sig"}))
	write("ed25519.jwk", jwkOf(edKey, nil))
	write("p384.jwk", jwkOf(must384(t), nil))
	write("public.jwk", jwkOf(&ec.PublicKey, nil))
	write("enc.jwk", jwkOf(ec, map[string]any{"use": "enc"}))
	write("hs256.jwk", jwkOf(ec, map[string]any{"alg": "HS256"}))
	write("rs256onec.jwk", jwkOf(ec, map[string]any{"alg": "RS256"}))
	var members map[string]any
	if err := json.Unmarshal(jwkOf(ec, nil), &members); err != nil {
		t.Fatal(err)
	}
	members["x"] = members["y"] // a point that is not d's
	write("wrongpoint.jwk", must(json.Marshal(members)))
	var rsaMembers map[string]any
	if err := json.Unmarshal(jwkOf(rsaKey, nil), &rsaMembers); err != nil {
		t.Fatal(err)
	}
	delete(rsaMembers, "p")
	write("noprimes.jwk", must(json.Marshal(rsaMembers)))

	key, err := jwk.FromRaw(ec)
	if err != nil {
		t.Fatal(err)
	}
	write("nokid.jwk", must(json.Marshal(key)))
	if err := key.Set(jwk.KeyIDKey, "file-kid"); err != nil {
		t.Fatal(err)
	}
	write("kid.jwk", must(json.Marshal(key)))
	write("set.jwk", must(json.Marshal(map[string]any{"keys": []jwk.Key{key}})))
	write("emptyset.jwk", []byte(` {"keys": []} `))
	if err := key.Set(jwk.KeyIDKey, "keys"); err != nil {
		t.Fatal(err)
	}
	write("kidkeys.jwk", must(json.Marshal(key))) // a single key whose kid is "keys"
	if err := key.Set(jwk.KeyIDKey, "file-kid"); err != nil {
		t.Fatal(err)
	}
	// PEM labels are free text: only known ones are quoted.
	var labels []byte
	labels = append(labels, pemOf("MY PASSWORD IS topsecret", []byte("x"))...)
	for range 50 {
		labels = append(labels, pemOf("CERTIFICATE", []byte("x"))...)
		labels = append(labels, pemOf("OTHER topsecret", []byte("x"))...)
	}
	write("labels.pem", labels)
	write("onelabel.pem", pemOf("MY PASSWORD IS topsecret", []byte("x")))
	write("oct.jwk", []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0"}`))
	write("garbage", []byte("topsecretgarbage\n"))
	write("garbage.json", []byte(`{"kty":"EC","d":topsecretgarbage}`))
	write("large.pem", bytes.Repeat([]byte("A"), maxClientKeySize+1))
	return files
}

// must384 returns a fresh P-384 key.
func must384(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certificateDER returns a self-signed certificate for key.
func certificateDER(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	cert, err := testutil.SelfSignedCertificate(key, "gw")
	if err != nil {
		t.Fatal(err)
	}
	return cert.Raw
}

func TestParseFlagsClientKey(t *testing.T) {
	files := keyFiles(t)
	base := []string{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/o=http://h"}
	for _, tc := range []struct {
		name, alg string
	}{
		{name: "pkcs8.pem"}, {name: "sec1.pem"}, {name: "pkcs1.pem"}, {name: "ed25519.pem"},
		{name: "nokid.jwk"}, {name: "kid.jwk"}, {name: "kidkeys.jwk"},
		{name: "rsa.jwk", alg: "PS256"}, {name: "ed25519.jwk"}, {name: "p384.jwk"},
	} {
		cfg, err := ParseFlags("gw", append(base, "-client-key", files[tc.name], "-auth-method", "private_key_jwt"), envOf(nil))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if cfg.ClientKey == nil || cfg.ClientKeyAlgorithm != tc.alg {
			t.Errorf("%s: key %T, alg %q; want a key and alg %q", tc.name, cfg.ClientKey, cfg.ClientKeyAlgorithm, tc.alg)
			continue
		}
		// The key signs what its public key verifies: it is whole.
		if _, err := authority.New(authority.Config{TokenURL: "http://as/token", ClientID: "gw", Signer: cfg.ClientKey,
			SigningAlgorithm: authority.SigningAlgorithm(cfg.ClientKeyAlgorithm)}); err != nil {
			t.Errorf("%s: authority.New: %v", tc.name, err)
		}
	}

	// -client-key-id sets the kid the file lacks; the file's own kid
	// stands, and a different one is refused.
	cfg, err := ParseFlags("gw", append(base, "-client-key-id", "k1"), envOf(map[string]string{"TX_CLIENT_KEY": files["nokid.jwk"]}))
	if err != nil || cfg.ClientKeyID != "k1" {
		t.Errorf("TX_CLIENT_KEY with -client-key-id: %v", err)
	}
	cfg, err = ParseFlags("gw", append(base, "-client-key", files["kid.jwk"], "-client-key-id", "file-kid"), envOf(nil))
	if err != nil || cfg.ClientKeyID != "file-kid" {
		t.Errorf("the file's kid: %v", err)
	}
	// A client secret too is allowed: the authority package chooses.
	if _, err := ParseFlags("gw", append(base, "-client-key", files["pkcs8.pem"], "-client-secret", "s"), envOf(nil)); err != nil {
		t.Errorf("-client-key and -client-secret: %v", err)
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: append(base, "-client-key", files["kid.jwk"], "-client-key-id", "other"), want: `the key has kid "file-kid", -client-key-id says "other"`},
		{args: append(base, "-client-key", files["public.pem"]), want: "-client-key " + `"` + files["public.pem"] + `": no private key among its PEM blocks (PUBLIC KEY)`},
		{args: append(base, "-client-key", files["encrypted.pem"]), want: "an encrypted private key"},
		{args: append(base, "-client-key", files["broken.pem"]), want: "cannot parse its PRIVATE KEY block"},
		{args: append(base, "-client-key", files["set.jwk"]), want: "a JWK Set: want a single JWK"},
		{args: append(base, "-client-key", files["emptyset.jwk"]), want: "a JWK Set: want a single JWK"},
		{args: append(base, "-client-key", files["labels.pem"]), want: "no private key among its PEM blocks (CERTIFICATE, 51 with other labels): want PRIVATE KEY"},
		{args: append(base, "-client-key", files["onelabel.pem"]), want: "no private key among its PEM blocks (1 with another label): want PRIVATE KEY"},
		{args: append(base, "-client-key", files["oct.jwk"]), want: "a symmetric key"},
		{args: append(base, "-client-key", files["garbage"]), want: "neither PEM nor a JWK in JSON"},
		{args: append(base, "-client-key", files["garbage.json"]), want: "not a valid JWK"},
		{args: append(base, "-client-key", files["large.pem"]), want: "larger than 64 KiB"},
		{args: append(base, "-client-key", files["p224.pem"]), want: "EC curve P-224: want P-256, P-384 or P-521"},
		{args: append(base, "-client-key", files["public.jwk"]), want: "a public key: want the private key"},
		{args: append(base, "-client-key", files["enc.jwk"]), want: `a key whose "use" is not "sig"`},
		{args: append(base, "-client-key", files["hs256.jwk"]), want: "the JWK's alg is not a signature algorithm for this key (want one of [ES256])"},
		{args: append(base, "-client-key", files["rs256onec.jwk"]), want: "the JWK's alg is not a signature algorithm for this key"},
		{args: append(base, "-client-key", files["wrongpoint.jwk"]), want: "an EC JWK whose x and y are not the public point of its d"},
		{args: append(base, "-client-key", files["noprimes.jwk"]), want: "an RSA JWK without exactly two primes"},
		{args: append(base, "-client-key", files["pkcs8.pem"], "-client-cert", files["othercert.pem"]), want: "-client-cert: its public key is not the -client-key's"},
		{args: append(base, "-client-cert", files["cert.pem"]), want: "-client-cert needs -client-key"},
		{args: append(base, "-client-key", files["pkcs8.pem"], "-client-cert", files["brokencert.pem"]), want: `-client-cert "` + files["brokencert.pem"] + `": cannot parse its CERTIFICATE block`},
		{args: append(base, "-client-key", files["pkcs8.pem"], "-client-cert", files["pkcs8.pem"]), want: "no CERTIFICATE block"},
		{args: append(base, "-client-key", files["pkcs8.pem"]), env: map[string]string{"TX_CLIENT_CERT": files["garbage"]}, want: `TX_CLIENT_CERT "` + files["garbage"] + `": no CERTIFICATE block`},
		{args: []string{"-client-cert", files["cert.pem"]}, want: "-client-cert needs -issuer or -token-url"},
		{args: append(base, "-client-key", filepath.Join(t.TempDir(), "missing.pem")), want: "missing.pem\": no such file or directory"},
		{args: append(base, "-client-key", t.TempDir()), want: "read: is a directory"},
		{args: base, env: map[string]string{"TX_CLIENT_KEY": files["garbage"]}, want: `TX_CLIENT_KEY "` + files["garbage"] + `": neither PEM`},
		{args: append(base, "-client-key-id", "k1"), want: "-client-key-id needs -client-key"},
		{args: []string{"-client-key", files["pkcs8.pem"]}, want: "-client-key and -client-key-id need -issuer or -token-url"},
		{args: []string{"-client-key", files["garbage"]}, want: "-client-key and -client-key-id need -issuer or -token-url"},
	} {
		_, err := ParseFlags("gw", tc.args, envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("ParseFlags(%q, %v) = %v, want one line with %q", tc.args, tc.env, err, tc.want)
		}
	}

	// The certificate of -client-cert (or TX_CLIENT_CERT) is the key's.
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{args: append(base, "-client-key", files["pkcs8.pem"], "-client-cert", files["cert.pem"])},
		{args: append(base, "-client-key", files["pkcs8.pem"]), env: map[string]string{"TX_CLIENT_CERT": files["cert.pem"]}},
	} {
		cfg, err := ParseFlags("gw", tc.args, envOf(tc.env))
		if err != nil || cfg.ClientCert == nil {
			t.Errorf("ParseFlags(%q, %v): %v, want the certificate", tc.args, tc.env, err)
		}
	}

	// Config.Validate checks a key set directly, as New does.
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := Config{TokenURL: "http://as/token", ClientID: "gw", ClientKey: p224, Routes: []Route{{Service: "o", Prefix: "/api/o"}}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "-client-key: EC curve P-224") {
		t.Errorf("Validate with a P-224 key: %v", err)
	}
	if err := (Config{ClientKey: cfg.ClientKey}).Validate(); err == nil || !strings.Contains(err.Error(), "need -issuer or -token-url") {
		t.Errorf("Validate, embedded with a key: %v", err)
	}
}

// TestMainClientKeyErrors checks that an unusable key file is a bad flag:
// exit 2 and one line that names the flag and the file, not its content.
func TestMainClientKeyErrors(t *testing.T) {
	files := keyFiles(t)
	base := []string{"-token-url", "http://as/token", "-client-id", "gw", "-route", "/api/o=http://h"}
	for _, name := range []string{"garbage", "garbage.json", "broken.pem", "public.pem", "large.pem", "labels.pem", "onelabel.pem"} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), "gw", append(base, "-client-key", files[name]), envOf(nil), &stdout, &stderr, nil)
		out := stderr.String()
		if code != 2 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "-client-key "+`"`+files[name]+`"`) ||
			strings.Contains(out, "topsecret") || strings.Contains(out, "AAAA") || strings.Contains(out, "BEGIN") {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line naming the flag and the file only", name, code, out)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), "gw", []string{"-help"}, envOf(nil), &stdout, &stderr, nil); code != 0 {
		t.Fatalf("-help: exit %d", code)
	}
	for _, want := range []string{"-client-key file", "[TX_CLIENT_KEY]", "-client-key-id kid", "[TX_CLIENT_KEY_ID]", "-client-cert file", "[TX_CLIENT_CERT]", "x5t#S256", "private_key_jwt (needs -client-key)", "Signed JWT"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("-help lacks %q", want)
		}
	}
}
