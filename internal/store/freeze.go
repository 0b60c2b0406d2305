package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RuleFrozen is the rule of an APPROVE that Commit stored as a REJECT
// because a freeze was active (see Freezer).
const RuleFrozen = "builtin:frozen"

// ErrLifted is returned (wrapped) by Unfreeze and AddLiftSignature for a
// freeze that is already lifted.
var ErrLifted = errors.New("store: freeze already lifted")

// MaxFreezeReason bounds a freeze's reason, in bytes: it is quoted in the
// reason of every decision the freeze rejects.
const MaxFreezeReason = 500

// Freeze is one operator freeze. Signing is frozen while any freeze is
// active (LiftedAt zero).
type Freeze struct {
	// ID is the freeze's identity: 16 lower-case hex digits (NewFreezeID).
	// Lift signatures are over "unfreeze <ID>", so an old signature can
	// never lift a new freeze.
	ID string
	// Reason says why, for the humans reading every REJECT it causes.
	Reason string
	// By names who froze (an operator's user name, "admin-endpoint").
	By string
	// At is when the freeze was recorded (UTC, microseconds).
	At time.Time
	// Seq is the chain row (Type FREEZE) that records it.
	Seq int64
	// LiftedAt is when it was lifted; zero while active.
	LiftedAt time.Time
	// LiftedBy names who lifted it, and Signers the approvers whose
	// signatures lifted it (empty without governance).
	LiftedBy string
	Signers  []string
	// LiftSeq is the chain row (Type UNFREEZE) that records the lifting.
	LiftSeq int64
}

// Active reports whether f still freezes signing.
func (f *Freeze) Active() bool { return f.LiftedAt.IsZero() }

// LiftSignature is one approver's signature over "unfreeze <FreezeID>",
// kept until the threshold is met. The store keeps the signature as given
// (an armored SSHSIG) and does not verify it: whoever lifts verifies them
// all against the governance in force.
type LiftSignature struct {
	FreezeID  string
	Approver  string
	Signature string
	At        time.Time
}

// Freezer is the freeze memory: every Store implements it (it is part of
// Store). A freeze is shared by every process on the database, survives
// restarts, and is enforced by Commit itself, in its transaction, so that
// the very next decision on any replica sees it without a cache.
type Freezer interface {
	// Freeze records f (ID, Reason and By required; At is set to
	// rec.ReceivedAt) and appends rec to the hash chain, in one
	// transaction: the freeze exists exactly when its chain row does. rec
	// must be a REJECT (an operator row; see FreezeRecord). ErrInvalid
	// (wrapped) for a bad freeze or record, ErrConflict (wrapped) for an
	// ID already used.
	Freeze(ctx context.Context, rec Record, f Freeze) (*Freeze, *Record, error)

	// ActiveFreezes returns the freezes not lifted, oldest first (empty
	// when signing is not frozen).
	ActiveFreezes(ctx context.Context) ([]Freeze, error)

	// GetFreeze returns one freeze, lifted or not; ErrNotFound (wrapped)
	// when no freeze has that id.
	GetFreeze(ctx context.Context, id string) (*Freeze, error)

	// AddLiftSignature keeps approver's signature towards lifting freeze
	// id, replacing that approver's earlier one. ErrNotFound (wrapped) for
	// an unknown freeze, ErrLifted (wrapped) for a lifted one, ErrInvalid
	// (wrapped) for an empty approver or signature.
	AddLiftSignature(ctx context.Context, id, approver, signature string) error

	// LiftSignatures returns the signatures kept for freeze id, by
	// approver name.
	LiftSignatures(ctx context.Context, id string) ([]LiftSignature, error)

	// Unfreeze lifts freeze id, recording signers (the approvers whose
	// verified signatures lift it; nil without governance) and appending
	// rec (a REJECT, see UnfreezeRecord) to the chain, in one
	// transaction. ErrNotFound (wrapped) for an unknown freeze, ErrLifted
	// (wrapped) for one already lifted; nothing is written then.
	Unfreeze(ctx context.Context, rec Record, id string, signers []string) (*Freeze, *Record, error)
}

// NewFreezeID returns a fresh random freeze id: 16 lower-case hex digits.
func NewFreezeID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: making a freeze id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidFreezeID checks id's one spelling: 16 lower-case hex digits.
// Errors wrap ErrInvalid.
func ValidFreezeID(id string) error {
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		return fmt.Errorf("%w: freeze id %q is not 16 lower-case hex digits", ErrInvalid, clip(id))
	}
	return nil
}

// FreezeRecord returns the chain row recording freeze f made at now by
// operator: a REJECT of Type FREEZE under rule operator:freeze.
func FreezeRecord(f Freeze, now time.Time) Record {
	return operatorRecord("freeze", "FREEZE", "operator:freeze", f.ID, f.By, now,
		map[string]any{"operator_action": "freeze", "freeze_id": f.ID, "reason": f.Reason, "operator": f.By},
		"operator froze signing (freeze "+f.ID+"): "+f.Reason)
}

// UnfreezeRecord returns the chain row recording the lifting of freeze id
// at now by operator, with the approvers whose signatures lifted it.
func UnfreezeRecord(id, operator string, signers []string, now time.Time) Record {
	reason := "operator lifted freeze " + id
	if len(signers) > 0 {
		reason += " with the signatures of " + strings.Join(signers, ", ")
	}
	if signers == nil {
		signers = []string{}
	}
	return operatorRecord("unfreeze", "UNFREEZE", "operator:unfreeze", id, operator, now,
		map[string]any{"operator_action": "unfreeze", "freeze_id": id, "operator": operator, "signers": signers}, reason)
}

func operatorRecord(action, typ, rule, id, operator string, now time.Time, req map[string]any, reason string) Record {
	return Record{
		RequestID:     fmt.Sprintf("operator:%s:%s", action, id),
		Version:       "operator",
		Type:          typ,
		NodeKey:       "operator:" + operator,
		ReceivedAt:    now,
		Request:       mustJSON(req),
		Action:        ActionReject,
		Rule:          rule,
		Reason:        reason,
		PolicyVersion: "operator",
	}
}

// mustJSON encodes v, a map of strings and string lists, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
