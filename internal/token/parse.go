package token

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// claimPackageData is the claim that carries the CallbackRequest.
const claimPackageData = "package_data"

// segmentEncoding decodes the three parts of a compact JWS: unpadded
// base64url, and canonical (trailing bits zero), so two spellings of one
// token cannot both verify. It is what golang-jwt's WithStrictDecoding
// used, including its one leniency: CR and LF inside a segment are skipped
// (the signature still covers the segment as sent).
var segmentEncoding = base64.RawURLEncoding.Strict()

// parsedToken is a compact JWS read in two steps. parse, before any key
// is tried, reads what authentication needs: the text the signature covers,
// the header and the signature. parseClaims, only once a key has verified
// that text, decodes and reads the claims, so what an unauthenticated
// sender can make Verify spend does not depend on its claims.
type parsedToken struct {
	signingInput string
	claimsSeg    string
	signature    []byte
	claims       requestClaims
}

// requestClaims is what Verify uses of a TSS Node's claims set, with
// golang-jwt's registered-claim types checked: iss, sub and jti strings, aud
// a string or an array of strings (each also null), exp, nbf and iat
// numbers (or null).
type requestClaims struct {
	// packageData is the package_data member's JSON value as sent, nil when
	// absent; packageDataPlain says it is a string of base64 characters
	// only (no escapes), whose bytes are its meaning.
	packageData      []byte
	packageDataPlain bool

	issuer string

	exp, nbf, iat          time.Time
	hasExp, hasNbf, hasIat bool
}

// headerAlg is the alg header as read.
type headerAlg struct {
	kind uint8  // algMissing, algString or algNotString
	name []byte // the decoded string, for algString
}

const (
	algMissing   = iota // absent or null
	algString           // a JSON string
	algNotString        // any other JSON value
)

// parse reads raw (already trimmed) up to what authenticating it needs
// and returns "" or the reason it is refused: three segments; the header
// base64url, a JSON object; then alg exactly "RS256" and no crit, as the
// old Verify checked them at once; then the signature base64url. The
// claims segment is only located, not decoded (parseClaims does that once
// a key has verified it). Every structural fault is "malformed".
func (t *parsedToken) parse(raw string) string {
	hdrSeg, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return reasonMalformed
	}
	claimsSeg, sigSeg, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(sigSeg, '.') >= 0 {
		return reasonMalformed
	}
	t.signingInput = raw[:len(hdrSeg)+1+len(claimsSeg)]
	t.claimsSeg = claimsSeg

	// One buffer for the header and the signature; the claims get their
	// own once authenticated, so a forged token's claims cost no memory.
	hdrMax := segmentEncoding.DecodedLen(len(hdrSeg))
	buf := make([]byte, hdrMax+segmentEncoding.DecodedLen(len(sigSeg)))

	n, err := segmentEncoding.Decode(buf[:hdrMax], []byte(hdrSeg))
	if err != nil {
		return reasonMalformed
	}
	alg, crit, badHeader, ok := parseHeader(buf[:n])
	if !ok {
		return reasonMalformed
	}
	if alg.kind != algString || string(alg.name) != onlyAlg {
		return fmt.Sprintf("signing method %s not allowed (only %s)", printableAlg(alg), onlyAlg)
	}
	// RFC 7515 4.1.11: a recipient must reject extensions it does not
	// understand; we understand none.
	if crit {
		return reasonCrit
	}
	if badHeader {
		return reasonMalformed
	}

	sigBuf := buf[hdrMax:]
	n, err = segmentEncoding.Decode(sigBuf, []byte(sigSeg))
	if err != nil {
		return reasonMalformed
	}
	t.signature = sigBuf[:n]
	return ""
}

// claimsHook, when set (by tests), is called each time parseClaims starts,
// so a test can assert that a forged token's claims are never decoded.
var claimsHook func()

// parseClaims decodes the claims segment parse located (canonical
// base64url, as the other segments) and reads it: a JSON object with
// well-typed registered claims. It reports false for any fault, which
// Verify calls "malformed". Verify calls it only after a key has verified
// the signing input, so the canonical check still means one spelling: the
// signature covers the segment as sent, and a node-signed segment with
// non-zero trailing bits is refused, not read as its canonical twin.
func (t *parsedToken) parseClaims() bool {
	if claimsHook != nil {
		claimsHook()
	}
	buf := make([]byte, segmentEncoding.DecodedLen(len(t.claimsSeg)))
	n, err := segmentEncoding.Decode(buf, []byte(t.claimsSeg))
	return err == nil && t.claims.parse(buf[:n])
}

// parseHeader reads a JOSE header: a JSON object whose alg and crit
// members matter (a crit of any value, null included, refuses); every
// other member is checked to be JSON and ignored. ok is false when the
// header is not a JSON object; when it is one, bad is true if the old
// parser's decoding into map[string]any would still have failed, which
// happens only for a number beyond float64's range: that decoder reported
// alg and crit first (an out-of-range alg read as absent) and then called
// the header malformed, and so does Verify.
func parseHeader(b []byte) (alg headerAlg, crit, bad, ok bool) {
	s := jsonScanner{b: b, checkFloats: true}
	ok = s.object(func(name []byte) bool {
		switch string(name) {
		case "alg":
			switch s.peek() {
			case '"':
				start := s.i
				inner, escaped, ok := s.str()
				if !ok {
					return false
				}
				alg.kind = algString
				alg.name = inner
				if escaped {
					v, ok := unquote(inner, true, b[start:s.i])
					if !ok {
						return false
					}
					alg.name = []byte(v)
				}
				return true
			case 'n':
				alg.kind = algMissing
				return s.literal()
			default:
				// A number that float64 cannot hold was decoded as nil, so
				// the old check saw no alg; any other value (an array or
				// object, even holding such a number) was not a string.
				wasBad := s.badFloat
				s.badFloat = false
				isNumber := s.peek() == '-' || '0' <= s.peek() && s.peek() <= '9'
				if !s.skipValue(1) {
					return false
				}
				alg.kind = algNotString
				if isNumber && s.badFloat {
					alg.kind = algMissing
				}
				s.badFloat = s.badFloat || wasBad
				return true
			}
		case "crit":
			crit = true
		}
		return s.skipValue(1)
	})
	return alg, crit, s.badFloat, ok
}

// registeredClaims are the members golang-jwt decoded into typed fields
// (with package_data, the old claims struct). encoding/json matched struct
// fields case-insensitively, so a member whose name differs from one of
// these only in case (or Unicode case folding) would have filled it;
// parse refuses such members instead.
var registeredClaims = [...]string{claimPackageData, "iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// parse reads a claims set: a JSON object, duplicate members refused.
func (c *requestClaims) parse(b []byte) bool {
	s := jsonScanner{b: b}
	return s.object(func(name []byte) bool {
		switch string(name) {
		case claimPackageData:
			return c.readPackageData(&s)
		case "iss":
			v, ok := s.nullableString()
			c.issuer = v
			return ok
		case "sub", "jti":
			_, ok := s.nullableString()
			return ok
		case "aud":
			return s.audience()
		case "exp":
			return s.numericDate(&c.exp, &c.hasExp)
		case "nbf":
			return s.numericDate(&c.nbf, &c.hasNbf)
		case "iat":
			return s.numericDate(&c.iat, &c.hasIat)
		}
		for _, r := range registeredClaims {
			if bytes.EqualFold(name, []byte(r)) {
				return false
			}
		}
		return s.skipValue(1)
	})
}

// readPackageData takes the member's value as sent. A string of base64
// characters only, as every TSS Node writes, is recognised in the same
// pass that finds its end; anything else is checked to be JSON and left
// to decodePackageData.
func (c *requestClaims) readPackageData(s *jsonScanner) bool {
	start := s.i
	if s.peek() == '"' {
		j := start + 1
		for j < len(s.b) && base64Char[s.b[j]] {
			j++
		}
		if j < len(s.b) && s.b[j] == '"' {
			s.i = j + 1
			c.packageData = s.b[start:s.i]
			c.packageDataPlain = true
			return true
		}
	}
	if !s.skipValue(1) {
		return false
	}
	c.packageData = s.b[start:s.i]
	c.packageDataPlain = false
	return true
}

// nullableString reads a string claim: a JSON string, or null (which
// encoding/json left as the empty string).
func (s *jsonScanner) nullableString() (string, bool) {
	if s.peek() == 'n' {
		return "", s.literal()
	}
	start := s.i
	inner, escaped, ok := s.str()
	if !ok {
		return "", false
	}
	return unquote(inner, escaped, s.b[start:s.i])
}

// audience reads aud as golang-jwt's ClaimStrings did: a string, null, or
// an array whose elements are all strings.
func (s *jsonScanner) audience() bool {
	switch s.peek() {
	case 'n':
		return s.literal()
	case '"':
		_, _, ok := s.str()
		return ok
	case '[':
	default:
		return false
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		s.ws()
		if _, _, ok := s.str(); !ok {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// numericDate reads exp, nbf or iat the way golang-jwt's NumericDate did
// with its default TimePrecision of one second: the number is parsed as
// the nearest float64, split into whole and fractional seconds, and the
// time truncated to the second. null leaves the claim absent. Two inputs
// it accepted are refused (see the package documentation): a number in a
// JSON string, and a date outside the years 1 to 9999
// (minNumericDate..maxNumericDate): beyond about 2^63 seconds the
// conversion to an integer is left to the platform, and just below it
// time.Unix's shift to year 1 overflows, so that an nbf or iat some 292
// billion years ahead read as the far past and passed.
// The NumericDates Verify reads: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59Z, in seconds from 1970, well inside what time.Unix
// represents without overflow.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

func (s *jsonScanner) numericDate(t *time.Time, present *bool) bool {
	if s.peek() == 'n' {
		*present = false
		return s.literal()
	}
	lit, ok := s.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || f < minNumericDate || f > maxNumericDate {
		return false
	}
	whole, frac := math.Modf(f)
	*t = time.Unix(int64(whole), int64(frac*1e9)).Truncate(time.Second)
	*present = true
	return true
}
