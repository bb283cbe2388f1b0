package exchange

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Key identifies one cache entry and one flight: a SHA-256 over
// length-prefixed fields of everything that changes the issued token. It
// never holds a token, and no token can be recovered from it.
//
// The subject token enters the key as its SHA-256
// ([authority.SubjectToken.Digest]), computed once per request and shared
// with the validator and every other exchange of the request, so that a
// key costs a hash of a fixed 137 bytes however long the token is.
type Key [32]byte

// keyVersion separates these digests from any other use of SHA-256. v2:
// the subject token enters the key as its digest (v1 hashed the token
// itself); the version is in the target digest, so no v2 key equals a v1
// key, which a replica of the previous version may still use in a shared
// tier during a rolling upgrade.
const keyVersion = "tokenexchange/exchange/key/v2"

// keyInputSize is the length of the longest input of makeKey: the subject
// digest with its length, the target and identity digests, and the actor
// flag and digest.
const keyInputSize = 8 + sha256.Size + sha256.Size + sha256.Size + 1 + sha256.Size

// makeKey hashes, length-prefixed: the subject token's SHA-256, the digest
// of the target fields (key version, subject token type, sorted audiences,
// resources and scopes, requested token type, actor token type, and the
// dialect unless it is the default), the
// digest of the authority and client identity, and a flag followed by the
// actor token's hash when there is an actor. Every field after the first
// has a fixed length, so the encoding is unambiguous. It does not allocate.
func makeKey(subject, target, identity, actor *[sha256.Size]byte) Key {
	var in [keyInputSize]byte
	buf := binary.BigEndian.AppendUint64(in[:0], sha256.Size)
	buf = append(buf, subject[:]...)
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
	if p.dialect != DialectRFC8693 {
		// Only after the fields above, so that an RFC 8693 target keeps
		// the digest it had before dialects existed (and replicas of the
		// previous version share its entries in a second tier); the extra
		// fields make every other dialect's encoding longer, so no
		// digest of one dialect equals one of another.
		writeField(h, "dialect")
		writeField(h, p.dialect.String())
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
