package exchange

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Key identifies one cache entry and one flight: a SHA-256 over
// length-prefixed fields of everything that changes the issued token. It
// never holds a token, and no token can be recovered from it.
type Key [32]byte

// keyVersion separates these digests from any other use of SHA-256.
const keyVersion = "tokenexchange/exchange/key/v1"

// stackKeyBuf is how much of a key's input is assembled on the stack; a
// longer subject token costs one allocation.
const stackKeyBuf = 2048

// makeKey hashes, length-prefixed: the subject token, the digest of the
// target fields (subject token type, sorted audiences, resources and
// scopes, requested token type, actor token type), the digest of the
// authority and client identity, and the actor token's hash when there is
// an actor.
func makeKey(subject string, target, identity *[32]byte, actor *[32]byte) Key {
	var stack [stackKeyBuf]byte
	buf := stack[:0]
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(subject)))
	buf = append(buf, subject...)
	buf = append(buf, target[:]...)
	buf = append(buf, identity[:]...)
	if actor != nil {
		buf = append(buf, 1)
		buf = append(buf, actor[:]...)
	} else {
		buf = append(buf, 0)
	}
	return sha256.Sum256(buf)
}

// targetDigest hashes the fields of a prepared target.
func targetDigest(p *Prepared) [32]byte {
	h := sha256.New()
	writeField(h, keyVersion)
	writeField(h, p.subjectType)
	writeList(h, p.audiences)
	writeList(h, p.resources)
	writeList(h, p.scopes)
	writeField(h, p.requestedType)
	if p.actor != nil {
		writeField(h, "actor")
		writeField(h, p.actorTokenType)
	} else {
		writeField(h, "")
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// identityDigest hashes the authority and client identity.
func identityDigest(identity string) [32]byte {
	h := sha256.New()
	writeField(h, keyVersion)
	writeField(h, identity)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func hashString(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func writeList(h hash.Hash, list []string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(list)))
	h.Write(n[:])
	for _, s := range list {
		writeField(h, s)
	}
}
