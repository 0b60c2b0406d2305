package governance

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

func sha256New() hash.Hash { return sha256.New() }

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
