// Package token owns the JWT envelope of the Cobo TSS Node callback protocol
// (PROTOCOL.md section 2): RS256 verification of the requests a TSS Node sends,
// RS256 signing of the replies tssgate sends back (and, in the simulator, of
// requests), loading, generating and writing RSA keys, and named sets of TSS
// Node public keys.
//
// Security model:
//   - Only RS256 is accepted, whatever the token header claims: the header's
//     alg must be the JSON string "RS256" before any key is tried, so a
//     public key can never be used as an HMAC secret and an unsigned
//     ("none") token can never pass.
//   - A request is authentic only if its signature verifies with one of the
//     configured TSS Node keys; the name of that key is reported so decisions
//     can say which node asked.
//   - Before a key has verified the signature, Verify does the least that
//     authenticating needs: it reads the header (alg exactly RS256, no
//     crit) and decodes the signature segment once, hashes the signing
//     input once and checks the signature per key. Only the public-key
//     check repeats per key, so what an unauthenticated sender can make
//     tssgate spend does not grow with the key set; and the claims
//     segment is not even base64-decoded until a key has verified it, so
//     that cost does not depend on what the sender put in its claims
//     either (a forged ~1 MiB claims set of escaped member names once cost
//     some 40 BenchmarkRSAFloors of parsing, now under one;
//     TestAttack11ForgedClaimsNotParsed, BenchmarkVerifyForgedLargeClaims).
//   - Everything about the claims (their structure, exp required and at
//     most MaxLifetime ahead, nbf, iat) is judged only after a signature
//     has verified, so an unauthenticated sender learns nothing about
//     whether its claims would have been acceptable: a forged token
//     reports a bad signature, whatever its claims hold.
//   - Every failure is an error wrapping ErrInvalid (the server's status 20) or,
//     for a verified token whose package_data is unusable, ErrPayload (status
//     10). Error texts are short, stable and contain no secrets, because they
//     travel back to the sender in the reply's error field.
//   - Keys shorter than MinKeyBits or longer than MaxKeyBits, with an even
//     modulus, or with a public exponent that is even or outside 3..2^31-1
//     are refused everywhere, in both crypto builds alike; every private key
//     loaded signs and verifies a fixed digest first (CheckSigningKey). So a
//     key the build's cryptography cannot use is an error at start-up, never
//     a verification that silently fails or a reply that cannot be signed.
//   - Verification always goes through crypto/rsa, and so does signing
//     except in the OpenSSL build. The default build is Go's own code;
//     built with GOEXPERIMENT=boringcrypto (cgo), crypto/rsa runs on
//     BoringCrypto with no code path of its own here; built with -tags
//     openssl (cgo), signDigest signs with the system's libcrypto
//     (backend_openssl.go), whose signatures are byte for byte crypto/rsa's
//     (PKCS #1 v1.5 is deterministic). FastCrypto and CryptoBackend say
//     which one this binary uses (backend_*.go and signdigest_go.go,
//     selected by the boringcrypto and openssl build tags; -tags openssl
//     without cgo, or with boringcrypto, does not compile).
//   - UnverifiedRequestID is the one place that reads a token without
//     verifying it, and only to echo request_id in a non-approving reply;
//     EchoedRequestID calls it only for a token a key verified or one of
//     at most MaxForgedEchoLen bytes, so the echo, too, costs a forger
//     little.
//
// Parsing and building. Verify reads the compact JWS itself, in one pass
// over each part (parse.go, jsonscan.go): exactly three segments of
// canonical unpadded base64url (CR and LF inside a segment are skipped, as
// encoding/base64 and so golang-jwt always did), a header and a claims set
// that are each one strict RFC 8259 JSON object. It keeps the reasons of
// the golang-jwt parser and validator it replaced, and their semantics,
// but not their order. golang-jwt decoded and parsed the claims before the
// signature; Verify checks header faults first, then the signature, and
// only then the claims' structure ("malformed", naming the verifying key
// as FailedKey) and their times. So a forged token whose claims golang-jwt
// would have called malformed reports a bad signature; a node-signed one
// is still malformed. The canonical-base64 rule for the claims segment
// still holds after verification: the signature covers the segment as
// sent, and a node-signed segment with non-zero unused bits is refused,
// not read as its canonical twin. The claim semantics: exp, nbf and iat
// are NumericDates, parsed as the nearest float64 and truncated to the
// second (golang-jwt's default TimePrecision), so 1700000000.999999999
// still reads as 1700000001; iss, sub and jti are strings or null; aud is
// a string, null or an array of strings; package_data without escapes is
// used in place.
// Sign writes {"alg":"RS256","typ":"JWT"} and
// {"package_data":...,"iss":...,"exp":...} byte for byte as golang-jwt and
// encoding/json wrote them (sign.go).
//
// Stricter than golang-jwt: Verify refuses as "malformed" these tokens the
// old parser read, none of which a TSS Node writes (each is listed in
// TestVerifyStricterThanReference). A fault in the header is refused
// before any key is tried; one in the claims once a key has verified the
// token (a forged token with such claims reports a bad signature, as
// golang-jwt did too):
//   - a header or claims set with two members of the same name (after
//     unescaping): encoding/json kept the last one silently;
//   - a claims member whose name equals a registered claim or package_data
//     only under case folding ("EXP", "ſub"): encoding/json's
//     case-insensitive field matching read it as that claim;
//   - exp, nbf or iat written as a JSON string ("1700000060"): golang-jwt's
//     NumericDate read a number in a string;
//   - exp, nbf or iat before the year 1 or after the year 9999: beyond 2^63
//     seconds golang-jwt converted it to an integer in a way Go leaves to
//     the platform, and just below that time.Unix overflowed, so an nbf or
//     iat 292 billion years ahead read as the far past and passed
//     (TestAttack9NumericDateWrapsPastInt64);
//   - invalid UTF-8 in any string of the header or claims: encoding/json
//     replaced it with U+FFFD;
//   - a claims set that is JSON null: encoding/json read it as no claims.
//
// The package imports only the standard library (and, in the OpenSSL build,
// links the system's libcrypto). github.com/golang-jwt/jwt/v5 is used only by
// its tests, as the reference the lean parser and builder are compared with
// (reference_test.go). It knows nothing about the JSON inside package_data;
// that is package protocol's.
package token
