package token

import (
	"errors"
	"strings"
)

// Failure reasons as bounded labels, for metrics: FailureReason maps every
// error Verify returns to one of these, whatever the attacker put in the
// token (the alg header, for example, appears in the wire reason but never
// in a label).
const (
	FailMissing      = "missing"
	FailTooLarge     = "too_large"
	FailNoKeys       = "no_keys"
	FailMalformed    = "malformed"
	FailAlgorithm    = "algorithm"
	FailCrit         = "crit_header"
	FailBadSignature = "bad_signature"
	FailExpRequired  = "exp_required"
	FailExpired      = "expired"
	FailExpTooFar    = "exp_too_far"
	FailNotYetValid  = "not_yet_valid"
	FailIssuedFuture = "issued_in_future"
	FailClaims       = "invalid_claims"
	FailPayload      = "invalid_package_data"
	FailOther        = "other"
)

// FailureReasons lists every value FailureReason returns, so a metrics
// family can start with one series per reason.
var FailureReasons = []string{
	FailMissing, FailTooLarge, FailNoKeys, FailMalformed, FailAlgorithm, FailCrit,
	FailBadSignature, FailExpRequired, FailExpired, FailExpTooFar, FailNotYetValid,
	FailIssuedFuture, FailClaims, FailPayload, FailOther,
}

// FailureReason classifies an error returned by Verifier.Verify into one of
// FailureReasons; FailOther for an error Verify does not return.
func FailureReason(err error) string {
	if errors.Is(err, ErrPayload) {
		return FailPayload
	}
	if !errors.Is(err, ErrInvalid) {
		return FailOther
	}
	msg := strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
	switch {
	case msg == reasonMissing:
		return FailMissing
	case msg == reasonTooLarge:
		return FailTooLarge
	case msg == reasonNoKeys:
		return FailNoKeys
	case msg == reasonMalformed:
		return FailMalformed
	case strings.HasPrefix(msg, "signing method "):
		return FailAlgorithm
	case msg == reasonCrit:
		return FailCrit
	case msg == reasonBadSig:
		return FailBadSignature
	case msg == reasonExpRequired:
		return FailExpRequired
	case msg == reasonExpired:
		return FailExpired
	case strings.HasPrefix(msg, reasonExpTooFar):
		return FailExpTooFar
	case msg == reasonNotYet:
		return FailNotYetValid
	case msg == reasonFutureIat:
		return FailIssuedFuture
	case msg == reasonClaims:
		return FailClaims
	}
	return FailOther
}

// keyedError is a token failure found after a configured key verified the
// signature (an expired token from a known node, say): the key is known,
// and an operator wants to see which node sends bad tokens.
type keyedError struct {
	key string
	err error
}

func (e *keyedError) Error() string { return e.err.Error() }
func (e *keyedError) Unwrap() error { return e.err }

// FailedKey returns the name of the configured key whose signature verified
// a token that Verify then refused (its claims or its package_data), or ""
// when no key verified it.
func FailedKey(err error) string {
	var ke *keyedError
	if errors.As(err, &ke) {
		return ke.key
	}
	return ""
}
