package jwt

// Algorithm is a JWS "alg" value (RFC 7518 §3.1, RFC 8037 §3.1), such as
// [RS256]. The constants are the algorithms a [Validator] supports.
type Algorithm string

// The asymmetric JWS algorithms a [Validator] verifies.
const (
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256
	RS384 Algorithm = "RS384" // RSASSA-PKCS1-v1_5 with SHA-384
	RS512 Algorithm = "RS512" // RSASSA-PKCS1-v1_5 with SHA-512
	PS256 Algorithm = "PS256" // RSASSA-PSS with SHA-256
	PS384 Algorithm = "PS384" // RSASSA-PSS with SHA-384
	PS512 Algorithm = "PS512" // RSASSA-PSS with SHA-512
	ES256 Algorithm = "ES256" // ECDSA with P-256 and SHA-256
	ES384 Algorithm = "ES384" // ECDSA with P-384 and SHA-384
	ES512 Algorithm = "ES512" // ECDSA with P-521 and SHA-512
	EdDSA Algorithm = "EdDSA" // Ed25519
)

// DefaultAlgorithms returns the algorithms a [Validator] accepts unless
// [Config.Algorithms] says otherwise: every algorithm it supports, RS256
// to EdDSA. "none" and the HMAC algorithms are never accepted. The slice is
// new on every call.
func DefaultAlgorithms() []Algorithm {
	return []Algorithm{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA}
}
