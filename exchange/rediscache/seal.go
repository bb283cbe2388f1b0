package rediscache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
)

// Layout of a stored value, version 1:
//
//	byte      valueVersion
//	8 bytes   key id: the first 8 bytes of SHA-256 of the AES key
//	12 bytes  random nonce
//	rest      AES-256-GCM ciphertext and 16-byte tag of Entry.MarshalBinary,
//	          with the full Redis key as associated data
const (
	valueVersion = 1
	keySize      = 32
	keyIDSize    = 8
	nonceSize    = 12
	tagSize      = 16
	headerSize   = 1 + keyIDSize + nonceSize
	// minValueSize is the shortest value that can be one: a header and a
	// tag (an empty plaintext, which no entry encodes to).
	minValueSize = headerSize + tagSize
)

// keyID identifies an AES key in a value without revealing it.
type keyID [keyIDSize]byte

// sealKey is one configured AES key.
type sealKey struct {
	id   keyID
	aead cipher.AEAD
}

// keyring holds the configured keys: the first seals, any opens.
type keyring struct {
	keys []sealKey
}

// newKeyring checks and prepares keys. Its errors name a key by its
// position, never by its bytes.
func newKeyring(keys [][]byte) (*keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("rediscache: Options.Keys is empty: give at least one 32-byte key")
	}
	kr := &keyring{keys: make([]sealKey, 0, len(keys))}
	for i, k := range keys {
		if len(k) != keySize {
			return nil, fmt.Errorf("rediscache: Options.Keys[%d] is %d bytes, want %d", i, len(k), keySize)
		}
		sum := sha256.Sum256(k)
		var id keyID
		copy(id[:], sum[:keyIDSize])
		for j, prev := range kr.keys {
			if prev.id == id {
				return nil, fmt.Errorf("rediscache: Options.Keys[%d] is the same key as Options.Keys[%d]", i, j)
			}
		}
		block, err := aes.NewCipher(k) // copies the key
		if err != nil {
			return nil, fmt.Errorf("rediscache: Options.Keys[%d]: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("rediscache: Options.Keys[%d]: %w", i, err)
		}
		kr.keys = append(kr.keys, sealKey{id: id, aead: aead})
	}
	return kr, nil
}

// seal appends to dst the value holding plaintext for redisKey, under
// the first key, with a fresh random nonce.
func (kr *keyring) seal(dst, redisKey, plaintext []byte) []byte {
	k := &kr.keys[0]
	dst = slices.Grow(dst, sealedSize(len(plaintext)))
	dst = append(dst, valueVersion)
	dst = append(dst, k.id[:]...)
	n := len(dst)
	dst = dst[:n+nonceSize]
	nonce := dst[n:]
	_, _ = rand.Read(nonce) // never fails (crypto/rand panics instead)
	return k.aead.Seal(dst, nonce, plaintext, redisKey)
}

// sealedSize returns the size of the value seal makes of n bytes.
func sealedSize(n int) int { return headerSize + n + tagSize }

// openResult says what open found in a value.
type openResult int

const (
	opened        openResult = iota // authentic: the plaintext is returned
	unknownFormat                   // another version: maybe a newer writer's
	unknownKey                      // a key id this replica was not given
	malformed                       // too short to be a value
	authFailed                      // fails authentication under a known key
)

// open returns the plaintext of value, stored under redisKey, and
// reports what it found.
func (kr *keyring) open(redisKey, value []byte) ([]byte, openResult) {
	if len(value) == 0 {
		return nil, malformed
	}
	if value[0] != valueVersion {
		return nil, unknownFormat
	}
	if len(value) < minValueSize {
		return nil, malformed
	}
	var id keyID
	copy(id[:], value[1:1+keyIDSize])
	for i := range kr.keys {
		k := &kr.keys[i]
		if k.id != id {
			continue
		}
		nonce := value[1+keyIDSize : headerSize]
		pt, err := k.aead.Open(nil, nonce, value[headerSize:], redisKey)
		if err != nil {
			return nil, authFailed
		}
		return pt, opened
	}
	return nil, unknownKey
}
