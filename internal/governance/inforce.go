package governance

import (
	"context"
	"fmt"

	"tssgate/internal/store"
)

// GovernanceReader is the part of store.Store InForce needs.
type GovernanceReader interface {
	Governance(ctx context.Context) (*store.GovernanceState, error)
}

// InForce reads and parses the governance in force from the store: what
// serve checks policies against and what lifting a freeze needs the
// quorum of. An error wrapping store.ErrNotFound means no governance was
// ever adopted (serve adopts the configured file at its first start);
// any other error, a stored file that no longer parses included, must
// be treated as "no quorum possible", never as "no governance".
func InForce(ctx context.Context, st GovernanceReader) (*Governance, error) {
	cur, err := st.Governance(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the governance in force: %w", err)
	}
	g, err := Parse(fmt.Sprintf("governance in force (adopted at seq %d)", cur.Seq), cur.Content)
	if err != nil {
		return nil, fmt.Errorf("the governance in force in the store does not parse: %w", err)
	}
	return g, nil
}
