package token

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// MaxEchoedIDLen bounds the request_id UnverifiedRequestID returns: an
// unauthenticated sender chooses it, and it is echoed in the reply and the
// log.
const MaxEchoedIDLen = 256

// MaxForgedEchoLen bounds the tokens whose request_id EchoedRequestID reads
// when no key verified them. Reading the id means base64-decoding and
// JSON-parsing claims and package_data that whoever sent the token chose,
// which for a crafted 1 MiB token costs more than ten RSA signatures:
// Verify no longer spends that before a signature verifies, and the echo
// must not spend it either. A TSS Node's tokens are far smaller (about
// 11 KB for a v2 KEYSIGN), so the bound costs a node's operator nothing
// but the id of a large token signed by a key not configured here.
const MaxForgedEchoLen = 64 << 10

// EchoedRequestID is the request_id to echo in the reply to tok, which
// Verify refused with verr: UnverifiedRequestID's reading when a key
// verified the token (FailedKey names it: the claims or their times were
// refused, so the node did send it) or when tok is at most
// MaxForgedEchoLen long, and "" for a larger token no key verified.
func EchoedRequestID(tok string, verr error) string {
	if FailedKey(verr) == "" && len(strings.TrimSpace(tok)) > MaxForgedEchoLen {
		return ""
	}
	return UnverifiedRequestID(tok)
}

// UnverifiedRequestID reads request_id from the package_data of a token
// WITHOUT checking its signature or claims. It exists for one purpose: a
// token that failed verification still gets a reply the node can match (the
// node pairs replies with its own request_id), and the node's operator sees
// why, e.g. "expired" after clock skew. Use it only in a non-approving
// reply: a signed REJECT carrying an id chosen by whoever sent the token
// authorizes nothing, while anything else built on an unverified id would.
//
// It lives here, beside Verify, because it reads the same JWT envelope and
// package_data encoding; everything malformed (not three parts, a token
// longer than MaxTokenLen, claims that are not base64 JSON, package_data
// that is not base64 of a JSON object with a string request_id, an id
// longer than MaxEchoedIDLen or not valid UTF-8) yields "".
func UnverifiedRequestID(tok string) string {
	// Counting first keeps a body of dots from costing one allocation each.
	if len(tok) > MaxTokenLen || strings.Count(tok, ".") != 2 {
		return ""
	}
	parts := strings.Split(tok, ".")
	claimsJSON, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		PackageData string `json:"package_data"`
	}
	if json.Unmarshal(claimsJSON, &claims) != nil {
		return ""
	}
	pd, err := base64.StdEncoding.DecodeString(claims.PackageData)
	if err != nil {
		return ""
	}
	var req struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(pd, &req) != nil || len(req.RequestID) > MaxEchoedIDLen || !utf8.ValidString(req.RequestID) {
		return ""
	}
	return req.RequestID
}
