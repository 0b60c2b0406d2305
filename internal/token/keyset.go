package token

import (
	"crypto/rsa"
	"fmt"
	"math/big"
)

// NamedKey is a TSS Node public key with the name used in logs and decisions,
// so an operator can tell which node (or which generation of a rotated key)
// sent a request.
type NamedKey struct {
	Name string
	Key  *rsa.PublicKey
}

// KeySet is an immutable, ordered set of named TSS Node public keys. Being
// immutable, one KeySet can be shared by any number of goroutines; to reload
// keys, build a new set and swap it in whole.
//
// A nil *KeySet behaves as an empty set.
type KeySet struct {
	keys []NamedKey
}

// NewKeySet builds a KeySet from keys, in the given order (Verify tries them in
// that order). It returns an error for an empty name, a duplicate name, a nil
// key, a key shorter than MinKeyBits, or the same key listed under two names
// (which would make the reported key name ambiguous in the decision log).
// An empty set is allowed: a server configured with one answers every request
// with an invalid-token reply, which is fail-closed.
func NewKeySet(keys ...NamedKey) (*KeySet, error) {
	set := &KeySet{keys: make([]NamedKey, 0, len(keys))}
	for i, k := range keys {
		if k.Name == "" {
			return nil, fmt.Errorf("key set: key %d has an empty name", i)
		}
		if k.Key == nil || k.Key.N == nil {
			return nil, fmt.Errorf("key set: key %q is nil", k.Name)
		}
		if err := checkKey(k.Key); err != nil {
			return nil, fmt.Errorf("key set: key %q: %w", k.Name, err)
		}
		for _, prev := range set.keys {
			if prev.Name == k.Name {
				return nil, fmt.Errorf("key set: duplicate key name %q", k.Name)
			}
			if prev.Key.Equal(k.Key) {
				return nil, fmt.Errorf("key set: keys %q and %q are the same key", prev.Name, k.Name)
			}
		}
		// Copy the public key so a caller mutating its *rsa.PublicKey later
		// cannot change what the set verifies against.
		pub := &rsa.PublicKey{N: new(big.Int).Set(k.Key.N), E: k.Key.E}
		set.keys = append(set.keys, NamedKey{Name: k.Name, Key: pub})
	}
	return set, nil
}

// Len returns the number of keys in the set (0 for a nil set).
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Names returns the key names in order. The slice is a copy.
func (s *KeySet) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, len(s.keys))
	for i, k := range s.keys {
		names[i] = k.Name
	}
	return names
}
