package store

import (
	"crypto/sha256"
	"encoding/hex"
)

// RequestHashOf returns the lower-case hex SHA-256 of a request's canonical
// JSON: the value Record.RequestHash must hold. It is public because the
// request flow compares it too (a retry with the same request_id must carry
// the same request).
func RequestHashOf(request []byte) string {
	sum := sha256.Sum256(request)
	return hex.EncodeToString(sum[:])
}
