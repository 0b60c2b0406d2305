package check

import (
	"fmt"

	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
)

// maxClaims bounds one ClaimOutpoints call: far above any transaction a
// node signs (a standard transaction holds at most a few thousand inputs).
const maxClaims = 100_000

// Outpoint validates an outpoint's one spelling (store.ValidOutpoint).
func Outpoint(op string) error { return store.ValidOutpoint(op) }

// Claims validates claims for ClaimOutpoints and returns them with At
// normalized; one outpoint twice in a call is refused.
func Claims(claims []store.OutpointClaim) ([]store.OutpointClaim, error) {
	if len(claims) > maxClaims {
		return nil, invalid("%d outpoint claims in one call, more than %d", len(claims), maxClaims)
	}
	out := make([]store.OutpointClaim, len(claims))
	seen := make(map[string]bool, len(claims))
	for i, c := range claims {
		if err := Outpoint(c.Outpoint); err != nil {
			return nil, err
		}
		if seen[c.Outpoint] {
			return nil, invalid("outpoint %s claimed twice in one call", c.Outpoint)
		}
		seen[c.Outpoint] = true
		if c.Amount.Sign() < 0 {
			return nil, invalid("outpoint %s: negative amount %s", c.Outpoint, c.Amount)
		}
		if c.RequestID == "" {
			return nil, invalid("outpoint %s: empty request_id", c.Outpoint)
		}
		if err := checkText("request_id", c.RequestID); err != nil {
			return nil, err
		}
		if c.At.IsZero() {
			return nil, invalid("outpoint %s: zero time", c.Outpoint)
		}
		c.At = chain.NormalizeTime(c.At)
		out[i] = c
	}
	return out, nil
}

// Governance validates a GovernanceState for AdoptGovernance: a non-empty
// Content whose SHA-256 is SHA256. Errors wrap store.ErrInvalid.
func Governance(g store.GovernanceState) error {
	if len(g.Content) == 0 {
		return fmt.Errorf("%w: empty governance content", store.ErrInvalid)
	}
	if store.RequestHashOf(g.Content) != g.SHA256 {
		return fmt.Errorf("%w: governance sha256 is not the SHA-256 of its content", store.ErrInvalid)
	}
	return nil
}
