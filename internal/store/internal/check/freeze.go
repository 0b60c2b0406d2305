package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"tssgate/internal/store"
)

// maxSignature bounds one kept lift signature: an armored SSHSIG over an
// Ed25519 key is about 300 bytes.
const maxSignature = 8 << 10

// LiftSignature validates what AddLiftSignature keeps. Errors wrap
// store.ErrInvalid.
func LiftSignature(approver, signature string) error {
	if strings.TrimSpace(approver) == "" {
		return invalid("empty approver")
	}
	if strings.TrimSpace(signature) == "" {
		return invalid("empty signature")
	}
	if len(signature) > maxSignature {
		return invalid("signature longer than %d bytes", maxSignature)
	}
	if err := checkText("approver", approver); err != nil {
		return err
	}
	return checkText("signature", signature)
}

// Signers validates the approvers an Unfreeze records and returns them as
// the JSON array both stores keep ("[]" for none). Errors wrap
// store.ErrInvalid.
func Signers(signers []string) (string, error) {
	for _, s := range signers {
		if strings.TrimSpace(s) == "" {
			return "", invalid("empty signer name")
		}
		if err := checkText("signer", s); err != nil {
			return "", err
		}
	}
	if signers == nil {
		signers = []string{}
	}
	b, err := json.Marshal(signers)
	return string(b), err
}

// Operator is who an operator row names: its NodeKey without the
// "operator:" prefix.
func Operator(rec *store.Record) string {
	return strings.TrimPrefix(rec.NodeKey, "operator:")
}

// Freeze validates what Freeze requires of f. Errors wrap store.ErrInvalid.
func Freeze(f store.Freeze) error {
	if err := store.ValidFreezeID(f.ID); err != nil {
		return err
	}
	for _, v := range []struct{ name, s string }{{"reason", f.Reason}, {"by", f.By}} {
		switch {
		case strings.TrimSpace(v.s) == "":
			return fmt.Errorf("%w: freeze %s: empty %s", store.ErrInvalid, f.ID, v.name)
		case !utf8.ValidString(v.s) || strings.ContainsRune(v.s, 0):
			return fmt.Errorf("%w: freeze %s: %s is not UTF-8 text without NUL", store.ErrInvalid, f.ID, v.name)
		case len(v.s) > store.MaxFreezeReason:
			return fmt.Errorf("%w: freeze %s: %s is longer than %d bytes", store.ErrInvalid, f.ID, v.name, store.MaxFreezeReason)
		}
	}
	return nil
}

// FrozenReason is the Reason of a decision a freeze rejected: it names the
// oldest active freeze, its reason, and how many others are active.
func FrozenReason(oldest store.Freeze, active int) string {
	s := fmt.Sprintf("signing is frozen: freeze %s by %s at %s: %s", oldest.ID, oldest.By,
		oldest.At.UTC().Format(time.RFC3339), oldest.Reason)
	if active > 1 {
		s += fmt.Sprintf(" (and %d more active freezes)", active-1)
	}
	return s + "; lifting needs tssgate unfreeze --id " + oldest.ID
}

// Frozen reports whether an active freeze turns rec, if it is an APPROVE,
// into a REJECT: every type but PING (a PING signs nothing, and the TSS
// Node's health check must keep passing while frozen).
func Frozen(rec *store.Record) bool {
	return rec.Action == store.ActionApprove && rec.Type != "PING"
}
